"""`python -m eval`: benchmarks x checkpoints -> samples, results.json, results.md, report.

    python -m eval --benchmark refcoco_val,lisa_test --model runs/refcoco/checkpoint-400 \
        [--engine hf|vllm] [--limit N] [--out DIR] [--data PATH | NAME=PATH,...] [--protocol peers]

Everything that can fail on the request (names, engine, data files, prompt lengths) fails
before the first generation. Interrupt at any time; the same command resumes.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from gpg_vl.config import VisionConfig
from gpg_vl.data.collator import PromptCollator, PromptTooLong
from gpg_vl.data.loading import DataError, load_records
from gpg_vl.rollout import Sampling

from . import benchmarks  # noqa: F401  (register the built-ins)
from . import engines
from .registry import Benchmark, EvalError, get_benchmark, list_benchmarks
from .report import write_index, write_report
from .results import checkpoint_tag, update_results, write_table
from .runner import run_benchmark, select_records
from .store import SampleStore


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eval", description=__doc__.splitlines()[0])
    p.add_argument("--benchmark", help="comma-separated benchmark names (see --list) or module:name")
    p.add_argument("--model", help="comma-separated checkpoint folders or hub ids")
    p.add_argument("--engine", default="hf", help="rollout engine: hf (anywhere) | vllm (GPU)")
    p.add_argument("--engine-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="engine option, repeatable (value parsed as YAML), e.g. tensor_parallel_size=2")
    p.add_argument("--limit", type=int, default=0, help="evaluate only the first N items (0 = all)")
    p.add_argument("--out", default="eval_results", help="output folder")
    p.add_argument("--data", default="", help="records file for the one benchmark, or NAME=PATH,... per benchmark")
    p.add_argument("--data-root", default=os.environ.get("GPG_VL_DATA", "/data"),
                   help="folder the benchmarks' default data paths are under (env GPG_VL_DATA)")
    p.add_argument("--image-root", default="", help="folder relative image paths resolve against")
    p.add_argument("--protocol", default="full", choices=["full", "peers"],
                   help="peers: shuffle with seed 42 and keep the first 2000 (RefCOCO family, as VLM-R1)")
    p.add_argument("--batch-size", type=int, default=8, help="prompts per generate call")
    p.add_argument("--max-new-tokens", type=int, default=0, help="completion cap (0 = the benchmark's)")
    p.add_argument("--template", default="", help="prompt template override (empty = the benchmark's protocol)")
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy decoding (default)")
    p.add_argument("--dtype", default="auto", help="auto (bfloat16 on GPU, else float32) | float32 | bfloat16")
    p.add_argument("--min-pixels", type=int, default=3136)
    p.add_argument("--max-pixels", type=int, default=401408)
    p.add_argument("--max-prompt-length", type=int, default=4096, help="longer prompts are rejected up front")
    p.add_argument("--model-family", default="auto", help="box convention: auto | qwen2_vl | qwen2_5_vl | generic")
    p.add_argument("--report-items", type=int, default=24, help="items per visual report page (0 = no report)")
    p.add_argument("--fresh", action="store_true", help="discard earlier samples instead of resuming")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    return p


def data_paths(args, names: list[str]) -> dict[str, Path]:
    """Benchmark -> records file: --data (one path, or NAME=PATH pairs), else the default."""
    given: dict[str, str] = {}
    if args.data and "=" not in args.data:
        if len(names) != 1:
            raise EvalError("--data PATH needs exactly one --benchmark; use --data NAME=PATH,NAME=PATH")
        given[names[0]] = args.data
    elif args.data:
        for pair in args.data.split(","):
            name, _, path = pair.partition("=")
            if name.strip() not in names:
                raise EvalError(f"--data names {name.strip()!r}, which is not among --benchmark {','.join(names)}")
            given[name.strip()] = path.strip()
    return {n: Path(given.get(n) or Path(args.data_root) / get_benchmark(n).data) for n in names}


def prepare(args, names: list[str]) -> dict[str, tuple[Path, list]]:
    """Load and select every benchmark's records (all data errors surface here)."""
    selected = {}
    for name, path in data_paths(args, names).items():
        if not path.exists():
            raise EvalError(f"{name}: records file {path} not found; convert the dataset with data_prep "
                            f"(see data_prep/README.md) or pass --data {name}={path.name}")
        records = load_records(path, args.image_root or None, split="test")
        selected[name] = (path, select_records(records, get_benchmark(name), args.protocol, args.limit))
    return selected


def settings(args, bench: Benchmark, model: str, data: Path, family: str) -> dict:
    """What must match for stored samples to be reused (see store.py)."""
    return {"model": model, "benchmark": bench.name, "data": str(data.resolve()), "engine": args.engine,
            "template": args.template or bench.template, "temperature": args.temperature,
            "max_new_tokens": args.max_new_tokens or bench.max_new_tokens, "dtype": args.dtype,
            "min_pixels": args.min_pixels, "max_pixels": args.max_pixels, "model_family": family}


def evaluate_model(args, model: str, selected: dict, vision: VisionConfig, out: Path) -> None:
    """Every benchmark on one checkpoint; results.json/results.md updated after each."""
    model_id = os.path.abspath(model) if Path(model).exists() else model
    policy = engines.load(model, args.engine, vision, dtype=args.dtype, family=args.model_family,
                          engine_args=args.engine_args)
    try:
        for name, (path, records) in selected.items():
            evaluate_benchmark(args, policy, model_id, get_benchmark(name), path, records, out)
    finally:
        policy.close()


def evaluate_benchmark(args, policy: engines.Policy, model_id: str, bench: Benchmark, path: Path,
                       records: list, out: Path) -> None:
    """One checkpoint x benchmark: resume or run, then results, table and report."""
    tag = checkpoint_tag(policy.path)
    collator = PromptCollator(policy.processor, policy.adapter, args.min_pixels, args.max_pixels,
                              args.template or bench.template, args.max_prompt_length)
    collator.check_lengths(records)
    conf = settings(args, bench, model_id, path, policy.family)
    store = SampleStore(out / "samples" / tag / f"{bench.name}.jsonl", conf, fresh=args.fresh)
    sampling = Sampling(conf["max_new_tokens"], temperature=args.temperature or 1.0, greedy=args.temperature == 0)
    rows, stats = run_benchmark(bench, records, policy.engine, collator, policy.family, store, sampling,
                                batch_size=args.batch_size, progress=not args.no_progress,
                                desc=f"{tag}/{bench.name}")
    metrics = bench.metrics(rows)
    entry = {"n": len(rows), "headline": bench.headline, "metrics": metrics,
             "samples": str(store.path.relative_to(out)), "settings": conf,
             "throughput": {"generated": stats.generated, "seconds": round(stats.seconds, 3),
                            "samples_per_s": round(stats.samples_per_s, 3)}}
    write_table(out, update_results(out, tag, model_id, bench.name, entry))
    if args.report_items:
        write_report(rows, out / "report" / tag / bench.name, f"{bench.name} - {tag}", metrics, args.report_items)
    print(f"{tag}/{bench.name}: {bench.headline} {metrics[bench.headline]:.2f} (n={len(rows)}); "
          f"generated {stats.generated} in {stats.seconds:.1f} s ({stats.samples_per_s:.2f} samples/s)",
          file=sys.stderr)


def checkpoints(spec: str) -> list[str]:
    """--model's list; two checkpoints may not share a tag (their samples would collide)."""
    models = [m.strip() for m in spec.split(",") if m.strip()]
    tags: dict[str, str] = {}
    for model in models:
        other = tags.setdefault(checkpoint_tag(model), model)
        if other != model:
            raise EvalError(f"checkpoints {other!r} and {model!r} would share the output name "
                            f"{checkpoint_tag(model)!r}; evaluate them into different --out folders")
    return models


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.list:
        for name in list_benchmarks():
            print(f"{name:22s} {get_benchmark(name).description}")
        return 0
    if not args.benchmark or not args.model:
        parser().error("--benchmark and --model are required (or --list)")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        names = [get_benchmark(n.strip()).name for n in args.benchmark.split(",") if n.strip()]
        models = checkpoints(args.model)
        args.engine_args = engines.engine_args(args.engine, args.engine_arg)
        args.dtype = engines.resolve_dtype(args.dtype)
        selected = prepare(args, names)
        for model in models:  # full or LoRA checkpoints, or hub ids: usable, before any weights load
            engines.check_model(model)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        vision = VisionConfig(args.min_pixels, args.max_pixels)
        for model in models:
            evaluate_model(args, model, selected, vision, out)
        if args.report_items:
            write_index(out / "report")
    except (EvalError, DataError, PromptTooLong) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print((out / "results.md").read_text())
    return 0
