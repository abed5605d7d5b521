"""Evaluation during training: held-out benchmarks scored by the same code as `python -m eval`.

`python -m gpg_vl.train` hands these to the trainer as hooks (gpg_vl.hooks): the trainer
calls `evaluate_during_training(run, step)` every `eval.every` steps (and once before the
first step, so the curve has its starting point and a bad eval setting fails at once, not
hours in) and logs what it returns: {"eval/<benchmark>/<metric>": value}; its preflight
calls `check_benchmarks(cfg.eval.benchmarks)` before any data loads.

It reuses the run's engine (so vLLM runs evaluate with vLLM, already synced to the
policy), its processor, vision settings and box-convention family; only the prompt
template is the benchmark's own (or `eval.template`). Decoding is greedy. Samples go to
`<log.out_dir>/eval/step-<step>/<benchmark>.jsonl`, so a surprising number can be read
item by item. Only the main process evaluates and the others return {} at once, except
where generation is collective (`engine.collective`: weights sharded by ZeRO-3 or FSDP,
vLLM tensor parallelism): there all processes generate the same items in step (the
others' samples go to a scratch file that is removed) and the main process reports.

Expected config section (`run.cfg.eval`): every (int), benchmarks ({name: records path}),
limit (items per benchmark, 0 = all), batch_size, max_new_tokens (0 = the benchmark's),
template ("" = the benchmark's).
"""

from __future__ import annotations

from pathlib import Path

from gpg_vl.config import ConfigError
from gpg_vl.data.collator import PromptCollator
from gpg_vl.data.loading import load_records
from gpg_vl.rollout import Sampling

from . import benchmarks  # noqa: F401  (register the built-ins)
from .registry import EvalError, get_benchmark
from .runner import run_benchmark, select_records
from .store import SampleStore

_RECORDS: dict[tuple, list] = {}
"""Held-out records by (benchmark, path, limit): loaded and validated once per process."""


def held_out_records(name: str, path: str, limit: int) -> list:
    """Relative image paths resolve against the file's folder (data_prep output is
    self-contained), never against the TRAINING data's image_root."""
    key = (name, path, limit)
    if key not in _RECORDS:
        _RECORDS[key] = select_records(load_records(path, split="test"), get_benchmark(name), limit=limit)
    return _RECORDS[key]


def check_benchmarks(chosen: dict) -> None:
    """Every name in eval.benchmarks (`chosen`: name -> records path) is a benchmark; the
    trainer's preflight calls it before any data loads."""
    for name in chosen:
        try:
            get_benchmark(name)
        except EvalError as err:
            raise ConfigError(f"eval.benchmarks: {err}") from None


def evaluate_during_training(run, step: int) -> dict[str, float]:
    """{"eval/<benchmark>/<metric>": value} for every benchmark in run.cfg.eval.benchmarks."""
    cfg = run.cfg.eval
    main = run.accelerator.is_main_process
    if not (main or getattr(run.engine, "collective", False)):
        return {}
    out: dict[str, float] = {}
    for name, path in cfg.benchmarks.items():
        bench = get_benchmark(name)
        records = held_out_records(name, path, cfg.limit)
        collator = PromptCollator(run.processor, run.collator.family, run.cfg.vision.min_pixels,
                                  run.cfg.vision.max_pixels, cfg.template or bench.template,
                                  run.cfg.rollout.max_prompt_length)
        folder = Path(run.cfg.log.out_dir) / "eval" / f"step-{step:06d}"
        path = folder / (f"{name}.jsonl" if main else f".{name}.rank{run.accelerator.process_index}.jsonl")
        store = SampleStore(path, {"benchmark": name, "step": step}, fresh=True)
        sampling = Sampling(cfg.max_new_tokens or bench.max_new_tokens, greedy=True)
        rows, _ = run_benchmark(bench, records, run.engine, collator, run.family, store, sampling,
                                batch_size=cfg.batch_size, progress=False)
        if not main:
            store.path.unlink(missing_ok=True)
            store.settings_path.unlink(missing_ok=True)
            continue
        out.update({f"eval/{name}/{metric}": value for metric, value in bench.metrics(rows).items()})
    return out
