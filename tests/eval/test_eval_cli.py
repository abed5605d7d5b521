"""`python -m eval` end to end: every benchmark kind on the tiny offline model, metrics on
scripted completions against hand-computed values, clear failures, and the outputs."""

from __future__ import annotations

import json
import sys

import pytest

from eval.cli import main
from eval_helpers import ScriptedEngine, read_jsonl
from gpg_vl.rollout import ENGINES

SAMPLE_KEYS = {"id", "prompt", "completion", "parsed", "score", "values", "groups", "answer"}


def data_arg(paths: dict) -> str:
    return ",".join(f"{name}={path}" for name, path in paths.items())


def test_every_benchmark_kind_end_to_end_on_the_tiny_model(tiny_qwen2_vl, bench_data, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["--benchmark", ",".join(bench_data), "--model", str(tiny_qwen2_vl), "--data", data_arg(bench_data),
               "--limit", "3", "--batch-size", "3", "--max-new-tokens", "4", "--out", str(out), "--report-items", "2"])
    assert rc == 0, capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    (tag, entry), = results.items()
    assert entry["model"] == str(tiny_qwen2_vl.absolute()) and set(entry["benchmarks"]) == set(bench_data)
    for name, path in bench_data.items():
        got = entry["benchmarks"][name]
        n = min(3, len(read_jsonl(path)))
        assert got["n"] == n and got["headline"] in got["metrics"], name
        assert all(0.0 <= v <= 100.0 for v in got["metrics"].values()), name
        rows = read_jsonl(out / got["samples"])
        assert len(rows) == n and all(SAMPLE_KEYS <= set(r) for r in rows), name
        assert got["settings"]["max_new_tokens"] == 4 and got["settings"]["model_family"] == "qwen2_vl"
        assert (out / "report" / tag / name / "index.html").exists()
    table = (out / "results.md").read_text()
    assert all(f"| {name} |" in table for name in bench_data) and "(n=3)" in table
    assert "accuracy/Count" in table and "accuracy/multi_choice" in table and "| lisa_test | miou |" in table
    assert len(list((out / "report" / tag / "refcoco_val").glob("item-*.png"))) == 2
    assert "sample/s" in capsys.readouterr().err                     # tqdm: rate (and ETA) shown


def grid(box: list[float], size: list[int]) -> str:
    """A box as Qwen2-VL writes it: corners on the 0..1000 grid."""
    w, h = size
    x1, y1, x2, y2 = box[0] / w * 1000, box[1] / h * 1000, box[2] / w * 1000, box[3] / h * 1000
    return f"<answer>({x1:.4f},{y1:.4f}),({x2:.4f},{y2:.4f})</answer>"


@pytest.fixture
def scripted(monkeypatch):
    monkeypatch.setitem(ENGINES, "scripted", "eval_helpers:ScriptedEngine")
    monkeypatch.setattr(ScriptedEngine, "script", {})
    return ScriptedEngine.script


def test_scripted_completions_give_hand_computed_metrics(tiny_qwen2_vl, bench_data, tmp_path, scripted):
    refcoco = read_jsonl(bench_data["refcoco_val"])
    sizes = [r["meta"]["image_size"] for r in refcoco]
    assert [r["answer"] for r in refcoco] == [[8, 6, 32, 22], [8, 6, 32, 22], [40, 20, 60, 60], [4, 30, 24, 50]]
    scripted.update({
        refcoco[0]["id"]: grid([8, 6, 32, 22], sizes[0]),      # exact: IoU 1
        refcoco[1]["id"]: "no idea",                           # no box: IoU 0
        refcoco[2]["id"]: grid([50, 20, 70, 60], sizes[2]),    # shifted half a width: 400 / 1200 = 1/3
        refcoco[3]["id"]: grid([4, 30, 24, 50], sizes[3]),     # exact
    })
    cv = read_jsonl(bench_data["cvbench"])
    assert [(r["meta"]["task"], r["answer"]) for r in cv] == [("Count", "B"), ("Relation", "A"),
                                                             ("Depth", "B"), ("Distance", "A")]
    scripted.update({cv[0]["id"]: "<answer>B</answer>", cv[1]["id"]: "<answer>no</answer>",   # "no" is option B
                     cv[2]["id"]: "<think>near</think><answer>the sofa</answer>", cv[3]["id"]: ""})
    out = tmp_path / "out"
    data = {k: bench_data[k] for k in ("refcoco_val", "cvbench")}
    assert main(["--benchmark", "refcoco_val,cvbench", "--model", str(tiny_qwen2_vl), "--engine", "scripted",
                 "--data", data_arg(data), "--out", str(out), "--no-progress"]) == 0
    got = next(iter(json.loads((out / "results.json").read_text()).values()))["benchmarks"]
    assert got["refcoco_val"]["metrics"] == pytest.approx({"accuracy": 50.0,                       # 2 hits of 4
                                                           "miou": 100 * (1 + 0 + 1 / 3 + 1) / 4}, abs=1e-3)
    assert got["cvbench"]["metrics"] == pytest.approx({
        "accuracy": 50.0, "accuracy/Count": 100.0, "accuracy/Relation": 0.0, "accuracy/Depth": 100.0,
        "accuracy/Distance": 0.0, "accuracy/2D": 50.0, "accuracy/3D": 50.0})
    rows = {r["id"]: r for r in read_jsonl(out / got["refcoco_val"]["samples"])}
    assert rows[refcoco[2]["id"]]["parsed"] == pytest.approx([50, 20, 70, 60], abs=0.01)
    assert "50.00 (n=4)" in (out / "results.md").read_text()


def test_results_accumulate_checkpoints_as_columns(tiny_qwen2_vl, bench_data, tmp_path, scripted):
    other = tmp_path / "runs" / "ckpt-2"
    other.parent.mkdir()
    other.symlink_to(tiny_qwen2_vl)
    out = tmp_path / "out"
    common = ["--benchmark", "geoqa_test", "--data", str(bench_data["geoqa_test"]), "--engine", "scripted",
              "--out", str(out), "--no-progress"]
    assert main(common + ["--model", str(tiny_qwen2_vl)]) == 0
    assert main(common + ["--model", str(other)]) == 0
    header = (out / "results.md").read_text().splitlines()[4]
    assert header.startswith("| benchmark | metric |") and "runs_ckpt-2" in header and header.count("|") == 5


def test_vllm_unavailable_fails_before_loading_anything(bench_data, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vllm" else real(name, *a))
    rc = main(["--benchmark", "geoqa_test", "--model", "/nonexistent/model", "--engine", "vllm",
               "--data", str(bench_data["geoqa_test"])])
    assert rc == 2 and "--engine vllm needs the vllm package" in capsys.readouterr().err
    assert "vllm" not in sys.modules                           # nothing imported it on the way
    assert main(["--benchmark", "geoqa_test", "--model", "m", "--engine", "tgi"]) == 2
    assert "unknown engine 'tgi'; valid: " in capsys.readouterr().err


def test_request_errors_name_the_fix(bench_data, tmp_path, capsys):
    assert main(["--benchmark", "refcoco_vall", "--model", "m"]) == 2
    assert "known: " in capsys.readouterr().err
    assert main(["--benchmark", "geoqa_test", "--model", "m", "--data-root", str(tmp_path)]) == 2
    assert f"records file {tmp_path}/geoqa/test.jsonl not found" in capsys.readouterr().err
    assert main(["--benchmark", "geoqa_test,cvbench", "--model", "m", "--data", "x.jsonl"]) == 2
    assert "--data PATH needs exactly one --benchmark" in capsys.readouterr().err


def test_an_engine_that_cannot_be_imported_fails_clearly(bench_data, capsys, monkeypatch):
    monkeypatch.setitem(ENGINES, "vllm", "gpg_vl.rollout.no_such_engine:VLLMEngine")   # not implemented yet
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "vllm" else real(name, *a))
    rc = main(["--benchmark", "geoqa_test", "--model", "/nonexistent/model", "--engine", "vllm",
               "--data", str(bench_data["geoqa_test"])])
    err = capsys.readouterr().err
    assert rc == 2 and "engine 'vllm' (gpg_vl.rollout.no_such_engine:VLLMEngine) is unavailable" in err
    assert "use --engine hf" in err


def test_two_checkpoints_with_one_output_name_are_refused(capsys):
    assert main(["--benchmark", "geoqa_test", "--model", "a/run/ckpt-1,b/run/ckpt-1"]) == 2
    assert "would share the output name 'run_ckpt-1'" in capsys.readouterr().err
