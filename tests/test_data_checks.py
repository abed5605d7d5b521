"""Answers checked against their task at load, and `python -m gpg_vl.data check`."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gpg_vl.data.loading import DataError, load_records
from gpg_vl.data.tasks import BoxError, TaskChecks, fit_box

ROOT = Path(__file__).resolve().parents[1]
RED = ROOT / "tests" / "plugins" / "red.png"  # 56x56


def write(tmp_path, *records, name="d.jsonl"):
    shutil.copy(RED, tmp_path / "red.png")
    base = {"task": "grounding", "images": ["red.png"], "problem": "Where?", "answer": [2, 2, 30, 30]}
    path = tmp_path / name
    path.write_text("".join(json.dumps({**base, "id": f"r{i}", **r}) + "\n" for i, r in enumerate(records)))
    return path


def test_fit_box_tolerance_and_clip():
    assert fit_box([-1, 0, 57.5, 56], (56, 56)) == [0.0, 0.0, 56.0, 56.0]  # within 2 px: clipped
    with pytest.raises(BoxError, match="does not fit the 56x56 image"):
        fit_box([0, 0, 59, 56], (56, 56))
    assert fit_box([0, 0, 59, 56], (56, 56), tol=5) == [0.0, 0.0, 56.0, 56.0]
    assert fit_box([10, 10, 500, 500], (56, 56), clip=True) == [10.0, 10.0, 56.0, 56.0]
    with pytest.raises(BoxError, match="wholly outside"):
        fit_box([100, 100, 500, 500], (56, 56), clip=True)
    with pytest.raises(BoxError, match=r"is it \[x, y, w, h\]"):
        fit_box([20, 20, 10, 30], (56, 56))
    for bad in ([1, 2, 3], [True, 0, 3, 4], None, "0,0,3,4", [0, 0, float("inf"), 4]):
        with pytest.raises(BoxError):
            fit_box(bad, (56, 56))


def test_clip_boxes_option_clips_at_load(tmp_path):
    path = write(tmp_path, {"answer": [10, 10, 500, 500]})
    with pytest.raises(DataError, match="set data.clip_boxes|does not fit"):
        load_records(path)
    (rec,) = load_records(path, checks=TaskChecks(clip_boxes=True))
    assert rec.answer == [10.0, 10.0, 56.0, 56.0]


@pytest.mark.parametrize("record,message", [
    ({"task": "detection", "answer": [[1, 1, 9, 9], [1, 1, 90, 9]]}, "box 1: [1.0, 1.0, 90.0, 9.0] does not fit"),
    ({"task": "detection", "answer": [1, 1, 9, 9]}, "is not a box"),
    ({"task": "count", "answer": -1}, "-1 is not a non-negative integer count"),
    ({"task": "count", "answer": 2.5}, "2.5 is not a non-negative integer count"),
    ({"task": "count", "answer": "three"}, "'three' is not a non-negative integer count"),
    ({"task": "choice", "answer": "E", "choices": ["a", "b", "c", "d"]}, "'E' is neither a letter A-D"),
    ({"task": "choice", "answer": "A"}, "needs 'choices' with at least 2 options"),
    ({"task": "math", "answer": [1, 2]}, "is not a math answer"),
    ({"task": "classification", "answer": [1, 2, 3, 4]}, "is not a label"),
    ({"problem": "Where <|image_pad|> is it?"}, "field 'problem': contains the vision token <|image_pad|>"),
    ({"meta": {"image_size": [640, 480]}}, "field 'meta.image_size': says [640, 480] but the image is 56x56"),
    ({"id": None}, "field 'id' must be a non-empty string or an integer"),
])
def test_answers_that_do_not_fit_their_task(tmp_path, record, message):
    path = write(tmp_path, {}, record)
    with pytest.raises(DataError) as err:
        load_records(path)
    assert f"{path}:2" in str(err.value) and message in str(err.value)


def test_answers_that_fit(tmp_path):
    path = write(tmp_path, {"task": "detection", "answer": []}, {"task": "count", "answer": 3},
                 {"task": "count", "answer": "4"}, {"task": "choice", "answer": "(B)", "choices": ["x", "y"]},
                 {"task": "choice", "answer": "y", "choices": ["x", "y"]}, {"task": "math", "answer": "2 \\sqrt{3}"},
                 {"task": "math", "answer": 7.5}, {"task": "ocr", "answer": [1, 2]})
    assert len(load_records(path)) == 8


def test_warnings_do_not_stop_the_run(tmp_path, caplog):
    path = write(tmp_path, {"task": "math", "answer": "a horse"}, {"answer": [0.1, 0.1, 0.5, 0.5]},
                 {"id": "r0"})
    assert len(load_records(path)) == 3
    assert "parses as neither a number nor LaTeX" in caplog.text
    assert "looks normalised to 0..1" in caplog.text
    assert "field 'id': also used at" in caplog.text


def check_cli(*args):
    return subprocess.run([sys.executable, "-m", "gpg_vl.data", "check", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_check_cli_reports_every_problem_by_kind(tmp_path, tiny_qwen2_vl):
    path = write(tmp_path, {}, {"answer": [10, 10, 500, 500]}, {"task": "classification", "answer": "red"},
                 {"images": ["nope.png"]}, {"task": "count", "answer": 2})
    with path.open("a") as f:
        f.write('{"id": "cut", "task": \n')
    r = check_cli(path, "--preset", "refcoco_grounding", "--model", tiny_qwen2_vl)
    assert r.returncode == 1, r.stderr
    out = r.stdout
    assert "records        6 read, 1 usable, 5 bad" in out
    assert "problems       " in out and "answer: 1" in out and "reward/task: 2" in out and "image: 1" in out
    assert "json: 1" in out and f"{path}:2 (id=r1): field 'answer'" in out
    assert "prompt tokens  " in out and "(median " in out and "over max_prompt_length=1024: 0" in out


def test_check_cli_on_converter_output_counts_prompt_tokens(tmp_path, tiny_qwen2_vl):
    from data_prep import vlm_r1_rec

    coco = tmp_path / "coco" / "val2014"
    coco.mkdir(parents=True)
    shutil.copy(RED, coco / "a.png")
    src = tmp_path / "refcoco_val.json"  # VLM-R1's processed REC format
    src.write_text(json.dumps([{"image": "val2014/a.png", "width": 56, "height": 56, "normal_caption": c,
                                "problem": "unused", "solution": box}
                               for c, box in (("the red square", [2, 2, 30, 30]), ("left part", [0, 0, 20, 56]))]))
    coco = coco.parent
    assert vlm_r1_rec.main(["--src", str(src), "--image-root", str(coco), "--out", str(tmp_path / "out")]) == 0
    r = check_cli(tmp_path / "out" / "val.jsonl", "--preset", "refcoco_grounding", "--model", tiny_qwen2_vl)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "records        2 read, 2 usable, 0 bad" in r.stdout and "tasks          grounding: 2" in r.stdout
    assert "over max_prompt_length=1024: 0" in r.stdout and "problems       none" in r.stdout


def test_check_cli_missing_file_is_exit_2(tmp_path):
    r = check_cli(tmp_path / "nope.jsonl")
    assert r.returncode == 2 and r.stderr.startswith("data error: data file not found")


def test_the_model_familys_placeholder_in_record_text_is_refused(tmp_path):
    """A LLaVA-style `<image>` prefix is text to Qwen but an extra image slot to SmolVLM: the
    record check uses the run's family (model.build_tiny / the checkpoint's config)."""
    from gpg_vl.config import load_config
    from gpg_vl.data.tasks import task_checks

    path = write(tmp_path, {"problem": "<image>\nWhat color is the shape?"})
    smol = load_config("refcoco_grounding", ["model.build_tiny=smolvlm", f"model.path={tmp_path / 'none'}"])
    with pytest.raises(DataError, match="contains the vision token <image>"):
        load_records(path, checks=task_checks(smol))
    qwen = load_config("refcoco_grounding", [f"model.path={tmp_path / 'none'}"])
    assert len(load_records(path, checks=task_checks(qwen))) == 1
