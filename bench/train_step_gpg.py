"""One benchmark run of the project's GPG step: the real `gpg_vl.trainer.train` loop, timed.

Called by bench/train_step_bench.py in a fresh process per run (so peak RSS is this
run's own). Step time is the wall time between consecutive `MetricsLogger.log` calls,
i.e. the whole loop body (rollout, rewards, advantages, loss, optimizer step, logging).
Splits: generate = time inside the engine's `_generate` (the shared prefill and the
model's `generate`: token ids out, nothing decoded yet); forward, backward and optimizer =
the loop's own `time/forward`, `time/backward`, `time/optim` (forward includes the loss,
optimizer includes gradient clipping); everything else is the remainder.
"""

from __future__ import annotations

import time
from contextlib import contextmanager


@contextmanager
def timed_method(cls, name: str, sink: list):
    """Patch cls.name to append each call's wall time to sink (restored on exit)."""
    original = getattr(cls, name)

    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            sink.append(time.perf_counter() - t0)

    setattr(cls, name, wrapper)
    try:
        yield
    finally:
        setattr(cls, name, original)


def gpg_config(model_dir: str, data: str, out_dir: str, steps: int, setting: dict, seed: int):
    """The benchmark protocol as a gpg_vl Config: 8 prompts x G=8 x 32 new tokens, T=1."""
    from gpg_vl.config import load_config

    overrides = {
        "seed": seed, "model.path": model_dir, "data.train": data,
        "rollout.group_size": setting["G"], "rollout.max_new_tokens": setting["max_new_tokens"],
        "rollout.temperature": 1.0, "rollout.max_prompt_length": 512,
        "optim.prompts_per_step": setting["prompts"], "optim.steps": steps, "optim.lr": setting["lr"],
        "algo.beta_th": 0.0, "algo.max_resample_attempts": 1,  # one rollout per step, as TRL
        "log.out_dir": out_dir, "log.tensorboard": False, "log.progress": False, "log.plot": False,
        "ckpt.final": False, "probe.size": 0,
        "model.gradient_checkpointing": setting.get("gradient_checkpointing", False),
    }
    if "min_pixels" in setting:  # images resized up: more image tokens per prompt
        overrides["vision.min_pixels"] = setting["min_pixels"]
    return load_config(None, [f"{k}={v}" for k, v in overrides.items()])


def run_gpg(model_dir: str, data: str, out_dir: str, steps: int, setting: dict, seed: int,
            per_row: bool = False) -> dict:
    """Per-step timings of `steps` steps of the real loop; per_row forces the per-row forward."""
    from gpg_vl import trainer, update
    from gpg_vl.rollout.hf import HFEngine
    from gpg_vl.forward import row_logprobs

    if per_row:  # the comparison row: same loop, the forward every non-packable model gets
        trainer.choose_forward = lambda model: row_logprobs
    stamps, metrics, generate = [], [], []

    class TimedLogger(trainer.MetricsLogger):
        def log(self, step, values):
            super().log(step, values)
            stamps.append(time.perf_counter())
            metrics.append({"generate": sum(generate), **values})
            generate.clear()

    trainer.MetricsLogger = TimedLogger
    cfg = gpg_config(model_dir, data, out_dir, steps, setting, seed)
    with timed_method(HFEngine, "_generate", generate):
        t0 = time.perf_counter()
        trainer.train(cfg)
    steps_out = []
    for i, m in enumerate(metrics):
        total = stamps[i] - (stamps[i - 1] if i else t0)
        steps_out.append({"step": total, "generate": m["generate"], "forward": m["time/forward"],
                          "backward": m["time/backward"], "optimizer": m["time/optim"],
                          "completion_len": m["rollout/completion_len"]})
    return {"steps": steps_out}
