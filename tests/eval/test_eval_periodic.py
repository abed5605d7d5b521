"""The trainer's periodic-evaluation hook, on a real `gpg_vl.trainer.setup` run."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from eval.periodic import evaluate_during_training
from eval_helpers import read_jsonl
from gpg_vl.config import load_config
from gpg_vl.rollout import Sampling
from gpg_vl.train import default_hooks
from gpg_vl.trainer import setup


def test_hook_logs_eval_metrics_with_the_runs_engine(tiny_qwen2_vl, bench_data, tmp_path):
    cfg = load_config("demo", [f"model.path={tiny_qwen2_vl}", f"data.train={tmp_path / 'data' / 'train.jsonl'}",
                               "data.synthetic_size=8", f"log.out_dir={tmp_path / 'run'}", "probe.size=0"])
    cfg.eval = SimpleNamespace(every=5, limit=2, batch_size=2, max_new_tokens=3, template="",
                               benchmarks={"refcoco_val": str(bench_data["refcoco_val"]),
                                           "fewshot_flower102": str(bench_data["fewshot_flower102"])})
    run = setup(cfg, default_hooks())  # the demo's data.synthetic writes data.train
    calls = []
    generate = run.engine.generate
    run.engine.generate = lambda prompts, n, sampling: calls.append(sampling) or generate(prompts, n, sampling)
    metrics = evaluate_during_training(run, 5)
    headline = {"eval/refcoco_val/accuracy", "eval/refcoco_val/miou", "eval/fewshot_flower102/accuracy"}
    shares = {k: v for k, v in metrics.items() if k.startswith("eval/fewshot_flower102/predicted/")}
    per_class = {k for k in metrics if k.startswith("eval/fewshot_flower102/accuracy/")}
    assert set(metrics) == headline | set(shares) | per_class and per_class
    assert "eval/fewshot_flower102/predicted/(none)" in shares and sum(shares.values()) == pytest.approx(100.0)
    assert all(0.0 <= v <= 100.0 for v in metrics.values())
    rows = read_jsonl(tmp_path / "run" / "eval" / "step-000005" / "refcoco_val.jsonl")
    assert len(rows) == 2 and "First output the thinking process" in rows[0]["prompt"]   # the benchmark's template
    assert set(calls) == {Sampling(max_new_tokens=3, greedy=True)}   # eval.max_new_tokens, passed per call
    assert run.sampling == Sampling(cfg.rollout.max_new_tokens, cfg.rollout.temperature)  # the run's own, untouched
    run.accelerator = SimpleNamespace(is_main_process=False)
    assert evaluate_during_training(run, 10) == {}
