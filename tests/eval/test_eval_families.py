"""`python -m eval` runs a grounding benchmark on the tiny checkpoint of every model family,
recording the family (and so the box convention) it scored with."""

from __future__ import annotations

import json

import pytest

from eval.cli import main
from gpg_vl import families
from gpg_vl.tiny import build_tiny_model


@pytest.mark.parametrize("name", list(families.FAMILIES))
def test_eval_runs_a_benchmark_on_every_family(name, bench_data, tmp_path, capsys):
    model = build_tiny_model(tmp_path / name, name)
    out = tmp_path / "out"
    rc = main(["--benchmark", "refcoco_val", "--model", str(model), "--data", f"refcoco_val={bench_data['refcoco_val']}",
               "--limit", "2", "--batch-size", "2", "--max-new-tokens", "4", "--out", str(out), "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    (entry,) = json.loads((out / "results.json").read_text()).values()
    got = entry["benchmarks"]["refcoco_val"]
    assert got["n"] == 2 and got["settings"]["model_family"] == name
