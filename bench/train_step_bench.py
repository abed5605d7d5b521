"""Training-step benchmark: the project's GPG step vs TRL's GRPOTrainer, side by side, on a CPU.

    pip install -e .[bench]          # TRL, a benchmark-only dependency
    python bench/train_step_bench.py [--runs 5] [--steps 12] [--skip 2] [--threads 2]
                                     [--setting small|realistic] [--out bench/results/train_step_cpu.md]

One invocation builds a 2.9M-parameter tiny Qwen2-VL (hidden 256, 4 layers, 4 heads of 64
with mrope_section [12, 10, 10], vision depth 2) and 64 synthetic counting records
(112x112 image, 16 image tokens, "How many shapes are there? Answer with a number."),
then runs every configuration `--runs` times, interleaved (run 1 of each, then run 2 of
each, ...) and each in a fresh process, so machine noise hits all of them alike and peak
RSS is each run's own. Every optimizer step is 8 prompts x G=8 completions x 32 new
tokens at temperature 1, the same suppressed ids, the same reward (the project's `count`
rule), fp32, AdamW at lr 1e-6 with gradient clipping at 1.0.

A run's figure is the median over its steps after the first `--skip`; the table gives the
median over runs. It ends with the forward+backward sweep over G (bench/forward_sweep.py).

`--setting realistic` keeps the model but makes the shapes closer to real runs: every
image resized up to 448x448 (256 image tokens, prompts of ~280 tokens) and 128 new
tokens; the "x TRL best" column then divides by TRL's faster configuration
(checkpointing on or off), measured side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

SETTINGS = {  # name -> one optimizer step's shape
    "small": dict(prompts=8, G=8, max_new_tokens=32, lr=1e-6),
    "realistic": dict(prompts=8, G=8, max_new_tokens=128, lr=1e-6, min_pixels=448 * 448),
}
MODEL = dict(hidden=256, layers=4, heads=4, vision_width=32, vision_depth=2)
CONFIGS = {  # key -> (label, runner, options); "trl" is the reference for the "x TRL" column
    "gpg": ("gpg_vl GPG, packed forward", "gpg", {}),
    "gpg-rows": ("gpg_vl GPG, per-row forward", "gpg", {"per_row": True}),
    "trl": ("TRL GRPOTrainer, defaults (dapo, checkpointing on)", "trl", {"gradient_checkpointing": True}),
    "trl-no-ckpt": ("TRL GRPOTrainer, checkpointing off", "trl", {"gradient_checkpointing": False}),
}
REFERENCE = "trl"
SPLITS = ("generate", "forward", "backward", "optimizer")


def prepare(work: Path) -> tuple[str, str]:
    """Build the model and the data once (idempotent); return their paths."""
    from data_prep.synthetic import write_synthetic
    from gpg_vl.tiny import build_tiny_model

    model = build_tiny_model(work / "tiny-qwen2-vl-2.9m", "qwen2_vl", **MODEL)
    data = work / "data" / "train.jsonl"
    if not data.exists():
        write_synthetic("count", 64, work / "data", "train", seed=0)
    return str(model), str(data)


def worker(name: str, args) -> dict:
    """Run one configuration in this process; return its per-step timings and peak RSS."""
    import torch

    torch.set_num_threads(args.threads)
    model, data = prepare(Path(args.work))
    out_dir = str(Path(args.work) / "out" / name)
    if name == "sweep":
        from forward_sweep import run_sweep

        result = {"sweep": run_sweep(model, data, reps=args.sweep_reps)}
    else:
        _, kind, options = CONFIGS[name]
        if kind == "gpg":
            from train_step_gpg import run_gpg

            result = run_gpg(model, data, out_dir, args.steps, SETTINGS[args.setting], args.seed, **options)
        else:
            from train_step_trl import run_trl

            result = run_trl(model, data, out_dir, args.steps, SETTINGS[args.setting], args.seed, **options)
    result["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def spawn(name: str, args) -> dict:
    """One configuration in a fresh process (its own peak RSS, no state carried over)."""
    result = Path(args.work) / "result.json"
    cmd = [sys.executable, __file__, "--worker", name, "--result", str(result), "--work", args.work,
           "--steps", str(args.steps), "--threads", str(args.threads), "--seed", str(args.seed),
           "--sweep-reps", str(args.sweep_reps), "--setting", args.setting]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{name} failed:\n{proc.stderr[-4000:]}")
    return json.loads(result.read_text())


def summarise_run(result: dict, skip: int) -> dict:
    """Medians over a run's steps after the first `skip`."""
    steps = result["steps"][skip:]
    med = {k: statistics.median(s[k] for s in steps) for k in ("step", *SPLITS)}
    med["else"] = statistics.median(s["step"] - sum(s[k] for k in SPLITS) for s in steps)
    med["rss_mib"] = result["rss_mib"]
    lengths = [s["completion_len"] for s in steps if "completion_len" in s] or result.get("completion_len", [])
    med["completion_len"] = statistics.mean(lengths) if lengths else float("nan")  # same work on both sides?
    return med


def summarise(runs: list[dict]) -> dict:
    """Median over runs of each run's medians."""
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--skip", type=int, default=2, help="warm-up steps left out of each run's median")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sweep-reps", type=int, default=5)
    p.add_argument("--setting", default="small", choices=list(SETTINGS))
    p.add_argument("--configs", default="all", help=f"comma-separated keys of {', '.join(CONFIGS)}, or all")
    p.add_argument("--no-sweep", action="store_true")
    p.add_argument("--work", default="runs/bench-train-step")
    p.add_argument("--out", default=str(HERE / "results" / "train_step_cpu.md"))
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        Path(args.result).write_text(json.dumps(worker(args.worker, args)))
        return
    from train_step_report import write_report

    names = list(CONFIGS) if args.configs == "all" else args.configs.split(",")
    Path(args.work).mkdir(parents=True, exist_ok=True)
    prepare(Path(args.work))
    runs: dict[str, list[dict]] = {name: [] for name in names}
    load = [os.getloadavg()[0]]
    for r in range(args.runs):
        for name in names[r % len(names):] + names[:r % len(names)]:  # rotate who goes first
            t0 = time.perf_counter()
            runs[name].append(summarise_run(spawn(name, args), args.skip))
            print(f"run {r + 1}/{args.runs} {CONFIGS[name][0]}: {runs[name][-1]['step']:.3f} s/step "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
        load.append(os.getloadavg()[0])
    sweep = None if args.no_sweep else spawn("sweep", args)["sweep"]
    labels = {CONFIGS[n][0]: v for n, v in runs.items()}
    trl = [CONFIGS[n][0] for n in names if CONFIGS[n][1] == "trl"]
    text = write_report(args, SETTINGS[args.setting], MODEL, labels, {k: summarise(v) for k, v in labels.items()},
                        CONFIGS[REFERENCE][0], trl, sweep, load, machine())
    print(text)


def machine() -> str:
    import torch
    import transformers

    try:
        import trl
        trl_version = trl.__version__
    except ImportError:
        trl_version = "not installed"
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, torch {torch.__version__}, "
            f"transformers {transformers.__version__}, TRL {trl_version}")


if __name__ == "__main__":
    main()
