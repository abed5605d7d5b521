"""Counting and multiple-choice converters: CLEVR, SuperCLEVR, SAT, CV-Bench."""

from __future__ import annotations

import datasets

from data_prep import cvbench, sat, superclevr
from dp_helpers import (assert_paths_inside, embedded, image_bytes, images_in, read_jsonl, run_cli, sha1,
                        write_image_file, write_jsonl, write_parquet)

RED, GREEN = image_bytes((255, 0, 0)), image_bytes((0, 255, 0))


def test_clevr_count_cli(tmp_path):
    src = tmp_path / "clevr_cogen_a_train"
    write_parquet(src / "data" / "train-00000-of-00001.parquet",
                  {"image": [embedded(RED), embedded(GREEN), embedded(RED), embedded(RED)],
                   "problem": ["How many items are there in the image?"] * 4,
                   "solution": ["<answer> 3 </answer>", "<answer>10</answer>", "<answer> three </answer>", None]},
                  {"image": datasets.Image(), "problem": datasets.Value("string"),
                   "solution": datasets.Value("string")})
    out = tmp_path / "out"
    proc = run_cli("clevr_count", "--src", src, "--out", out)
    assert proc.returncode == 0, proc.stderr
    recs = read_jsonl(out / "train.jsonl")
    assert [(r["id"], r["answer"]) for r in recs] == [("clevr_count-train-000000", 3), ("clevr_count-train-000001", 10)]
    assert recs[0] == {"id": "clevr_count-train-000000", "task": "count", "images": [f"images/{sha1(RED)}.png"],
                       "problem": "How many items are there in the image?", "answer": 3,
                       "meta": {"source": "clevr_count", "split": "train", "image_size": [32, 24]}}
    assert "bad answer: 1" in proc.stdout and "missing answer: 1" in proc.stdout
    assert "train-00000-of-00001.parquet:row 2 (id=clevr_count-train-000002): bad answer" in proc.stderr


def test_superclevr_jsonl_with_image_root(tmp_path, capsys):
    root = tmp_path / "SuperCLEVR"
    write_image_file(root, "images/superCLEVR_new_025000.png", RED)
    write_image_file(root, "images/superCLEVR_new_025001.png", GREEN)
    q = "How many different items are there in the image?"
    src = write_jsonl(tmp_path / "superclevr_test200_counting_problems.jsonl", [
        {"image_path": "./images/superCLEVR_new_025000.png", "question": q, "ground_truth": 4},
        {"image_path": "./images/superCLEVR_new_025001.png", "question": q, "ground_truth": 7},
        {"image_path": "./images/../../outside.png", "question": q, "ground_truth": 1},
        {"image_path": "./images/superCLEVR_new_025000.png", "question": q},
    ], raw_lines=("{not json",))
    out = tmp_path / "out"
    assert superclevr.main(["--src", str(src), "--image-root", str(root), "--out", str(out)]) == 0
    recs = read_jsonl(out / "test.jsonl")
    assert [(r["id"], r["answer"]) for r in recs] == [("superclevr-test-000000", 4), ("superclevr-test-000001", 7)]
    assert recs[0]["problem"] == q and recs[0]["task"] == "count"
    assert recs[0]["meta"]["image_file"] == "./images/superCLEVR_new_025000.png"
    assert images_in(out) == sorted([f"{sha1(RED)}.png", f"{sha1(GREEN)}.png"])
    assert_paths_inside(out, recs)
    captured = capsys.readouterr()
    assert "superclevr_test200_counting_problems.jsonl:line 3 (id=superclevr-test-000002): unsafe image path" \
        in captured.err
    assert "line 4 (id=superclevr-test-000003): missing answer" in captured.err
    assert "line 5 (id=superclevr-test-000004): unreadable row: invalid JSON" in captured.err
    for reason in ("unsafe image path: 1", "missing answer: 1", "unreadable row: 1"):
        assert reason in captured.out


def write_sat(path, rows):
    write_parquet(path, {
        "image_bytes": [[embedded(b) for b in r[0]] for r in rows],
        "question": [r[1] for r in rows],
        "answers": [r[2] for r in rows],
        "question_type": ["other"] * len(rows),
        "correct_answer": [r[3] for r in rows],
    }, {"image_bytes": datasets.List(datasets.Image()), "question": datasets.Value("string"),
        "answers": datasets.List(datasets.Value("string")), "question_type": datasets.Value("string"),
        "correct_answer": datasets.Value("string")})


def test_sat_single_image_first_n_and_seeded_shuffle(tmp_path, capsys):
    src = tmp_path / "SAT"
    opts = ["left", "right", "above", "below"]
    write_sat(src / "data" / "train-00000-of-00001.parquet", [
        ([RED, GREEN], "Which moved?", ["cup", "box"], "cup"),           # two images: skipped
        ([RED], "Where is the cup?", opts, "above"),
        ([GREEN], "Where is the box?", opts, "below"),
        ([RED], "Is it near?", ["yes", "no"], "maybe"),                  # answer not an option
        ([GREEN], "Where is the pen?", opts, "left"),
        ([RED], "Where is the hat?", opts, "right"),                     # past --first 3
    ])
    runs = []
    for seed in ("7", "7", "8"):
        out = tmp_path / f"out{len(runs)}"
        assert sat.main(["--src", str(src), "--out", str(out), "--first", "3", "--seed", seed]) == 0
        runs.append(read_jsonl(out / "train.jsonl"))
    recs = runs[0]
    assert [r["id"] for r in recs] == ["sat-train-000001", "sat-train-000002", "sat-train-000004"]
    assert runs[1] == recs                                                  # same seed, same order
    assert [r["choices"] for r in runs[2]] != [r["choices"] for r in recs]  # another seed, another order
    for rec, truth in zip(recs, ["above", "below", "left"]):
        assert rec["task"] == "choice" and sorted(rec["choices"]) == sorted(opts)
        assert rec["choices"]["ABCD".index(rec["answer"])] == truth
        lines = rec["problem"].split("\n")
        assert lines[1] == "Choices:" and lines[2:] == [f"({'ABCD'[i]}) {c}" for i, c in enumerate(rec["choices"])]
    assert recs[0]["problem"].startswith("Where is the cup?\n")
    assert recs[0]["meta"] == {"source": "sat", "split": "train", "image_size": [32, 24], "question_type": "other"}
    captured = capsys.readouterr()
    assert "not single-image: 1" in captured.out and "answer not among options: 1" in captured.out
    assert "wrote 3 records" in captured.out


def test_cvbench_reads_2d_and_3d_files(tmp_path, capsys):
    src = tmp_path / "CV-Bench"
    features = {"idx": datasets.Value("int32"), "type": datasets.Value("string"), "task": datasets.Value("string"),
                "image": datasets.Image(), "question": datasets.Value("string"),
                "choices": datasets.List(datasets.Value("string")), "answer": datasets.Value("string"),
                "prompt": datasets.Value("string"), "source": datasets.Value("string"),
                "filename": datasets.Value("string")}

    def rows(n0, typ, task, items):
        return {"idx": list(range(n0, n0 + len(items))), "type": [typ] * len(items), "task": [task] * len(items),
                "image": [embedded(RED)] * len(items), "question": [i[0] for i in items],
                "choices": [i[1] for i in items], "answer": [i[2] for i in items],
                "prompt": [i[0] + " (A) ..." for i in items], "source": ["ADE20K"] * len(items),
                "filename": [f"img/{n0}.png"] * len(items)}

    write_parquet(src / "test_2d.parquet", rows(0, "2D", "Count", [
        ("How many chairs are in the image?", ["0", "1", "2", "3"], "(C)"),
        ("How many cups?", ["1", "2"], "(D)"),                               # no option D
    ]), features)
    write_parquet(src / "test_3d.parquet", rows(100, "3D", "Depth", [
        ("Which is closer to the camera?", ["the lamp", "the sofa"], "(B)"),
    ]), features)
    out = tmp_path / "out"
    assert cvbench.main(["--src", str(src), "--out", str(out)]) == 0
    recs = read_jsonl(out / "test.jsonl")
    assert [(r["id"], r["answer"]) for r in recs] == [("cvbench-test-000000", "C"), ("cvbench-test-000002", "B")]
    assert recs[0]["choices"] == ["0", "1", "2", "3"]
    assert recs[0]["problem"] == "How many chairs are in the image?\nChoices:\n(A) 0\n(B) 1\n(C) 2\n(D) 3"
    assert recs[1]["meta"] == {"source": "cvbench", "split": "test", "image_size": [32, 24], "task": "Depth",
                               "type": "3D", "idx": 100, "origin": "ADE20K", "filename": "img/100.png"}
    assert "test_2d.parquet:row 1 (id=cvbench-test-000001): answer not among options" in capsys.readouterr().err
