"""An evaluation interrupted midway resumes, and ends with the same table and the same
completions as one that was never interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eval.cli import main
from eval.store import SampleStore
from eval_helpers import read_jsonl

ROOT = Path(__file__).resolve().parents[2]
BENCHES = ("refcoco_val", "cvbench")


def args(model, bench_data, out) -> list[str]:
    data = ",".join(f"{b}={bench_data[b]}" for b in BENCHES)
    return ["--benchmark", ",".join(BENCHES), "--model", str(model), "--data", data, "--out", str(out),
            "--limit", "4", "--batch-size", "2", "--max-new-tokens", "24", "--report-items", "0"]


def outcome(out: Path) -> tuple[str, dict]:
    """The results table and every sample's completion."""
    completions = {r["id"]: r["completion"] for p in sorted((out / "samples").rglob("*.jsonl"))
                   for r in read_jsonl(p)}
    return (out / "results.md").read_text(), completions


@pytest.fixture(scope="module")
def uninterrupted(tiny_qwen2_vl, bench_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("fresh")
    assert main(args(tiny_qwen2_vl, bench_data, out) + ["--no-progress"]) == 0
    return outcome(out)


def generated(out: Path) -> dict[str, int]:
    """Items each benchmark generated in the LAST run (the rest were resumed)."""
    entry = next(iter(json.loads((out / "results.json").read_text()).values()))
    return {b: e["throughput"]["generated"] for b, e in entry["benchmarks"].items()}


def test_killed_python_m_eval_resumes_to_the_same_table(tiny_qwen2_vl, bench_data, tmp_path, uninterrupted):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "eval", *args(tiny_qwen2_vl, bench_data, out)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            files = list((out / "samples").rglob("refcoco_val.jsonl")) if (out / "samples").exists() else []
            if files and files[0].read_text().count("\n") >= 2:   # the first batch is on disk
                break
            time.sleep(0.02)
        alive = proc.poll() is None
    finally:
        proc.send_signal(signal.SIGKILL)                            # no clean-up code gets to run
        proc.wait(timeout=30)
    assert alive, "the evaluation finished before it could be interrupted"
    done_before = {b: len(read_jsonl(p)) for b in BENCHES for p in (out / "samples").rglob(f"{b}.jsonl")}
    assert done_before["refcoco_val"] >= 2 and sum(done_before.values()) < 8     # killed midway
    assert main(args(tiny_qwen2_vl, bench_data, out) + ["--no-progress"]) == 0
    assert generated(out) == {b: 4 - done_before.get(b, 0) for b in BENCHES}     # only the rest was run
    assert outcome(out) == uninterrupted


def test_interrupted_run_with_a_torn_line_resumes_to_the_same_table(tiny_qwen2_vl, bench_data, tmp_path,
                                                                    uninterrupted, monkeypatch):
    out = tmp_path / "out"
    real_append = SampleStore.append
    calls = []

    def append_then_die(self, rows):
        real_append(self, rows)
        calls.append(len(rows))
        if len(calls) == 3:                       # refcoco done; cvbench's first batch written...
            with self.path.open("a") as fh:
                fh.write('{"id": "cvbench-test-000002", "prom')   # ...and half a line of the next
            raise KeyboardInterrupt

    monkeypatch.setattr(SampleStore, "append", append_then_die)
    with pytest.raises(KeyboardInterrupt):
        main(args(tiny_qwen2_vl, bench_data, out) + ["--no-progress"])
    monkeypatch.setattr(SampleStore, "append", real_append)
    assert main(args(tiny_qwen2_vl, bench_data, out) + ["--no-progress"]) == 0
    assert generated(out) == {"refcoco_val": 0, "cvbench": 2}   # only cvbench's last 2 were left
    assert outcome(out) == uninterrupted
