"""Benchmark evaluation for gpg_vl checkpoints: registry, resumable batched inference,
metrics built on the training reward rules, results tables and a visual report.

    python -m eval --list
    python -m eval --benchmark refcoco_val,lisa_test --model runs/refcoco/checkpoint-400 --out eval_results

Layout: registry.py (benchmarks plug in here), benchmarks/ (one file per benchmark),
scoring.py (item scorers over gpg_vl.rewards + metric arithmetic), runner.py (batched,
resumable inference), store.py (the per-sample JSONL), engines.py (checkpoint -> engine),
results.py (results.json, results.md), report.py (HTML + PNG), periodic.py (the trainer's
hook), cli.py. Nothing here imports vLLM unless `--engine vllm` is asked for.
"""

from .registry import Benchmark, EvalError, Item, get_benchmark, list_benchmarks, register_benchmark

__all__ = ["Benchmark", "EvalError", "Item", "get_benchmark", "list_benchmarks", "register_benchmark"]
