"""Metrics to the console (progress bar), a JSONL file and the trackers of `log.report_to`
(TensorBoard by default; see tracking.py); a reward plot."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from tqdm import tqdm

log = logging.getLogger(__name__)


class MetricsLogger:
    """Only the main process writes. Names are stable and namespaced (`reward/<rule>`)."""

    def __init__(self, cfg, is_main: bool, run_cfg=None, resume_step: int | None = None):
        """resume_step: the step a resumed run continues from. Rows logged after it by the
        interrupted run (a kill -9 after the last checkpoint) are dropped from metrics.jsonl
        and TensorBoard, and the rows up to it become the history the curve is drawn from,
        so a resumed run's files hold one row per step, as an uninterrupted run's do."""
        self.cfg, self.is_main, self.last = cfg, is_main, {}
        self.out = Path(cfg.out_dir)
        self.history: list[dict] = []
        self._bar = None
        self._trackers: list = []
        if not is_main:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        if run_cfg is not None:
            import dataclasses

            import yaml

            (self.out / "config.yaml").write_text(yaml.safe_dump(dataclasses.asdict(run_cfg), sort_keys=False))
        jsonl = self.out / "metrics.jsonl"
        if resume_step is None:
            jsonl.unlink(missing_ok=True)
        else:
            self.history = kept_rows(jsonl, resume_step)
            jsonl.write_text("".join(json.dumps(row) + "\n" for row in self.history))
        self._jsonl = jsonl.open("a")
        from .tracking import start_trackers

        self._trackers = start_trackers(cfg, run_cfg, resume_step)

    def progress(self, steps, start: int = 0):
        if not (self.is_main and self.cfg.progress):
            return steps
        self._bar = tqdm(steps, initial=start, total=start + len(steps), desc="gpg", dynamic_ncols=True)
        return self._bar

    def log(self, step: int, metrics: dict) -> None:
        self.last = {"step": step, **metrics}
        if not self.is_main:
            return
        self.history.append(self.last)
        if step % self.cfg.every:
            return
        self._jsonl.write(json.dumps(self.last) + "\n")
        self._jsonl.flush()
        for tracker in self._trackers:
            tracker.log(metrics, step=step)
        if self._bar is not None:
            self._bar.set_postfix({"reward": f"{metrics.get('reward/total', 0):.3f}",
                                   "alpha": f"{metrics.get('gpg/alpha', 1):.2f}"}, refresh=False)
        elif not self.cfg.progress:
            log.info("step %d: %s", step, {k: round(v, 4) for k, v in metrics.items()
                                           if isinstance(v, float) and k.startswith(("reward/", "loss/", "gpg/"))})

    def close(self, summary: dict | None = None) -> None:
        if not self.is_main:
            return
        if self._bar is not None:
            self._bar.close()
        self._jsonl.close()
        for tracker in self._trackers:
            tracker.finish()
        if summary is not None:
            (self.out / "summary.json").write_text(json.dumps(summary, indent=2))
        if self.cfg.plot and self.history:
            plot_rewards(self.history, self.out / "reward_curve.png")


def kept_rows(jsonl: Path, last_step: int) -> list[dict]:
    """The rows of a metrics file up to last_step, one per step (the latest write wins)."""
    if not jsonl.exists():
        return []
    rows: dict[int, dict] = {}
    for line in jsonl.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:  # a line cut by a kill mid-write
            continue
        if isinstance(row, dict) and isinstance(row.get("step"), int) and row["step"] <= last_step:
            rows[row["step"]] = row
    return [rows[k] for k in sorted(rows)]


def plot_rewards(history: list[dict], path: Path) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.info("matplotlib not installed: skipping %s", path)
        return
    keys = sorted(k for k in history[0] if k.startswith("reward/") and not k.endswith("_errors"))
    steps = [h["step"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    window = max(1, len(steps) // 50)
    for key in keys:
        values = [h[key] for h in history]
        smooth = [sum(values[max(0, i - window + 1):i + 1]) / len(values[max(0, i - window + 1):i + 1])
                  for i in range(len(values))]
        ax.plot(steps, smooth, label=key)
    ax.set_xlabel("step")
    ax.set_ylabel(f"mean reward (moving avg {window})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
