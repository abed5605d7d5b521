"""What a run calls outside the package: synthetic data, the probe, held-out evaluation.

gpg_vl never imports eval/ or data_prep/. `python -m gpg_vl.train` wires them in
(`gpg_vl.train.default_hooks`); a caller of `trainer.train(cfg, hooks)` may pass its own,
or none for a run that needs none. A config that needs a missing hook fails at once with
a ConfigError naming the key (probe.size, eval.every, data.synthetic, log.report_every).

    make_synthetic(task, n, out_dir, split, seed) -> Path   # out_dir/<split>.jsonl + out_dir/images/
    probe(run, when) -> dict | None      # when: "before" | "after"; None off the main process
    evaluate(run, step) -> dict          # {"eval/<benchmark>/<metric>": value}; {} off the main process
    check_benchmarks(benchmarks) -> None # eval.benchmarks' names, before any data loads (raises ConfigError)
    report(run, step, batch) -> Path     # main process: a page of the step's scored RolloutBatch
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import Config, ConfigError

HOOK_SOURCE = "python -m gpg_vl.train wires it in; in code: train(cfg, gpg_vl.train.default_hooks())"


@dataclass(frozen=True)
class Hooks:
    make_synthetic: Callable[[str, int, Path, str, int], Path] | None = None
    "Write a synthetic task's records: data.synthetic (when data.train is due) and the probe's held-out set."
    probe: Callable[[Any, str], dict | None] | None = None
    "Greedy accuracy before and after training (probe.size > 0)."
    evaluate: Callable[[Any, int], dict] | None = None
    "Held-out benchmarks every eval.every steps."
    check_benchmarks: Callable[[dict], None] | None = None
    "Check eval.benchmarks before any data or weights load (preflight); skipped when absent."
    report: Callable[[Any, int, Any], Path] | None = None
    "Rollout report every log.report_every steps, on the main process (after the update: advantages set)."

    def need(self, name: str, key: str) -> Callable:
        """The hook `name`, or a ConfigError saying that config key `key` asks for it."""
        hook = getattr(self, name)
        if hook is None:
            raise ConfigError(f"{key}: needs the {name} hook, which this run was not given ({HOOK_SOURCE})")
        return hook


def check_hooks(cfg: Config, hooks: Hooks, synthetic_due: bool) -> None:
    """Every hook the config asks for is there (`synthetic_due`: data.train is to be generated)."""
    if cfg.probe.size:
        hooks.need("probe", f"probe.size={cfg.probe.size}")
        hooks.need("make_synthetic", f"probe.size={cfg.probe.size}")
    if cfg.eval.every:
        hooks.need("evaluate", f"eval.every={cfg.eval.every}")
    if cfg.log.report_every:
        hooks.need("report", f"log.report_every={cfg.log.report_every}")
    if synthetic_due:
        hooks.need("make_synthetic", f"data.synthetic={cfg.data.synthetic}")
