"""The real CLI in a subprocess, and the small demo-preset run most CLI tests start from."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "tests/plugins/toy_rewards.py:distinct_chars"


def cli(*args, cwd=ROOT, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "gpg_vl.train", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def script(name: str, *args, timeout=600):
    """Run tests/<name> (a wrapper around the real trainer) in a subprocess."""
    return subprocess.run([sys.executable, str(ROOT / "tests" / name), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "OMP_NUM_THREADS": "1"})


def small_run(model: Path, out: Path, steps: int = 3, data: Path | None = None) -> list[str]:
    data = data or out / "data" / "train.jsonl"
    return ["--preset", "demo", f"model.path={model}", f"data.train={data}",
            "data.synthetic_size=32", f"optim.steps={steps}", "optim.prompts_per_step=4",
            "rollout.group_size=4", "rollout.max_new_tokens=4", "probe.size=8", f"log.out_dir={out}",
            f"rewards.weights={{'{PLUGIN}': 1.0, answer_match: 0.5}}", "log.progress=false",
            "algo.beta_th=0.5", "algo.max_resample_attempts=2"]


def rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def without_timings(row: dict) -> dict:
    return {k: v for k, v in row.items() if not k.startswith("time/")}
