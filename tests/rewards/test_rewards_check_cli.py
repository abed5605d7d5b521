"""`python -m gpg_vl.rewards check` on JSONL examples."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

from gpg_vl.rewards.check import main

REPO = Path(__file__).resolve().parents[2]


def _record(rid, task, answer, **extra):
    return {"id": rid, "task": task, "images": ["img.png"], "problem": "q?", "answer": answer, **extra}


def _write(path: Path, rows: list) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_check_scores_each_line(tmp_path, capsys):
    Image.new("RGB", (640, 480)).save(tmp_path / "img.png")  # original size read from the file
    rows = [
        {"completion": "<think>dog</think><answer>[64, 96, 320, 384]</answer>",
         "record": _record("g1", "grounding", [64, 96, 320, 384])},
        {"completion": "<|box_start|>(100,200),(500,800)<|box_end|>", "model_family": "qwen2_vl",
         "record": _record("g2", "grounding", [64, 96, 320, 384])},
        {"completion": '{"bbox_2d": [44.8, 67.2, 224, 268.8]}', "model_family": "qwen2_5_vl",
         "input_size": [448, 336], "record": _record("g3", "grounding", [64, 96, 320, 384])},
        "",  # blank lines are skipped
    ]
    src = _write(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    assert main(["check", "--reward", "iou,format", "--input", str(src), "--out", str(out)]) == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["id"] for x in lines] == ["g1", "g2", "g3"]
    assert [x["scores"]["iou"] for x in lines] == [1.0, 1.0, 1.0]
    assert [x["scores"]["format"] for x in lines] == [1.0, 0.0, 0.0]
    assert "scored 3 line(s)" in capsys.readouterr().err


def test_check_to_stdout_with_rule_options(tmp_path):
    rows = [{"completion": "red blue", "record": _record("c1", "classification", "red")},
            {"completion": "blue", "record": _record("c2", "classification", "red")}]
    src = _write(tmp_path / "in.jsonl", rows)
    cmd = [sys.executable, "-m", "gpg_vl.rewards", "check", "--reward", "answer_match",
           "--completions", str(src), "--arg", "answer_match.extract=first_word"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert [json.loads(x)["scores"]["answer_match"] for x in done.stdout.splitlines()] == [1.0, 0.0]


def test_check_bad_lines_name_file_and_line(tmp_path, capsys):
    good = {"completion": "3", "record": _record("n1", "count", 3)}
    cases = [
        ("not json", "invalid JSON"),
        (json.dumps({"completion": 3, "record": _record("n2", "count", 3)}), "'completion' must be a string"),
        (json.dumps({"completion": "3"}), "missing 'record'"),
        (json.dumps({"completion": "3", "record": {"id": "x"}}), "missing field(s)"),
        (json.dumps({**good, "model_family": "llava"}), "box_convention"),
        (json.dumps({**good, "input_size": [0, 5]}), "input_size"),
        (json.dumps({**good, "extra": 1}), "unknown key(s) extra"),
    ]
    for bad, message in cases:
        src = _write(tmp_path / "bad.jsonl", [good, bad])
        assert main(["check", "--reward", "count", "--input", str(src)]) == 2
        err = capsys.readouterr().err
        assert f"{src}:2" in err and message in err, err


def test_check_unknown_reward_lists_names(tmp_path, capsys):
    src = _write(tmp_path / "in.jsonl", [{"completion": "3", "record": _record("n1", "count", 3)}])
    assert main(["check", "--reward", "cnt", "--input", str(src)]) == 2
    assert "unknown reward 'cnt'" in capsys.readouterr().err


def test_list_command(capsys):
    assert main(["list"]) == 0
    assert "answer_match" in capsys.readouterr().out.split()


def test_check_takes_records_without_images(tmp_path, capsys):
    rows = [{"completion": "<answer>8\\sqrt{3}</answer>",
             "record": {"id": "q1", "task": "math", "problem": "Find AB.", "answer": "8√{3}"}},
            {"completion": "<answer>B\n\nBecause it is 102.</answer>",
             "record": {"id": "q2", "task": "choice", "problem": "Which?", "answer": "B",
                        "choices": ["97", "102"]}}]
    src = _write(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    assert main(["check", "--reward", "answer_match", "--input", str(src), "--out", str(out)]) == 0
    assert [json.loads(x)["scores"]["answer_match"] for x in out.read_text().splitlines()] == [1.0, 1.0]


def test_check_bad_line_says_which_keys_it_expects(tmp_path, capsys):
    src = _write(tmp_path / "bad.jsonl", [json.dumps({"text": "3", "record": {}})])
    assert main(["check", "--reward", "count", "--input", str(src)]) == 2
    err = capsys.readouterr().err
    assert "unknown key(s) text" in err and '"completion": str' in err and '"problem"' in err, err
