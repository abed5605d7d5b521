"""Visual-math converters: Geometry3K, GeoQA (train parquet and test JSONL), MathVista."""

from __future__ import annotations

import datasets
import pytest

from data_prep import geoqa, mathvista
from dp_helpers import (assert_paths_inside, embedded, image_bytes, read_jsonl, run_cli, sha1, write_image_file,
                        write_jsonl, write_parquet)
from public_schemas import mathvista_features

RED, GREEN = image_bytes((255, 0, 0)), image_bytes((0, 255, 0), size=(40, 30), fmt="JPEG")


def test_geometry3k_cli(tmp_path):
    src = tmp_path / "geometry3k"
    write_parquet(src / "data" / "validation-00000-of-00001.parquet", {
        "images": [[embedded(RED)], [embedded(GREEN)], [], [embedded(RED)]],
        "problem": ["<image>Find x.", "<image>\nFind the area of the circle.", "<image>Find y.", "<image>Find z."],
        "answer": ["3", "12 \\pi", "5", ""],
        "id": [10, 11, 12, 13],
        "choices": [["1", "3", "5", "7"]] * 4,
        "ground_truth": ["B", "A", "C", "D"],
    }, {"images": datasets.List(datasets.Image()), "problem": datasets.Value("string"),
        "answer": datasets.Value("string"), "id": datasets.Value("int64"),
        "choices": datasets.List(datasets.Value("string")), "ground_truth": datasets.Value("string")})
    out = tmp_path / "out"
    proc = run_cli("geometry3k", "--src", src, "--out", out, "--split", "validation")
    assert proc.returncode == 0, proc.stderr
    recs = read_jsonl(out / "validation.jsonl")
    assert recs == [
        {"id": "geometry3k-validation-000000", "task": "math", "images": [f"images/{sha1(RED)}.png"],
         "problem": "Find x.", "answer": "3",
         "meta": {"source": "geometry3k", "split": "validation", "image_size": [32, 24], "source_id": 10}},
        {"id": "geometry3k-validation-000001", "task": "math", "images": [f"images/{sha1(GREEN)}.jpg"],
         "problem": "Find the area of the circle.", "answer": "12 \\pi",
         "meta": {"source": "geometry3k", "split": "validation", "image_size": [40, 30], "source_id": 11}},
    ]
    assert "missing image: 1" in proc.stdout and "missing answer: 1" in proc.stdout


def test_geoqa_train_strips_answer_tags(tmp_path):
    src = tmp_path / "GEOQA_R1V_Train_8K"
    write_parquet(src / "data" / "train-00000-of-00001.parquet", {
        "image": [embedded(RED), embedded(RED)],
        "problem": ["As shown in the figure, find the angle ABC.", "Find AB."],
        "solution": ["<answer>40°</answer>", "6"],
    }, {"image": datasets.Image(), "problem": datasets.Value("string"), "solution": datasets.Value("string")})
    out = tmp_path / "out"
    assert geoqa.main(["--src", str(src), "--out", str(out)]) == 0
    recs = read_jsonl(out / "train.jsonl")
    assert [(r["id"], r["answer"]) for r in recs] == [("geoqa-train-000000", "40°"), ("geoqa-train-000001", "6")]
    assert recs[0]["problem"] == "As shown in the figure, find the angle ABC." and recs[0]["task"] == "math"


def test_geoqa_counts_golds_that_do_not_parse(tmp_path, capsys):
    src = tmp_path / "GEOQA_R1V_Train_8K"
    golds = ["8√{3}", "16π平方米", "(√{3}+1)小时", "AC=BC", "6cm或8cm"]
    write_parquet(src / "data" / "train-00000-of-00001.parquet", {
        "image": [embedded(RED)] * len(golds), "problem": ["Find it."] * len(golds), "solution": golds,
    }, {"image": datasets.Image(), "problem": datasets.Value("string"), "solution": datasets.Value("string")})
    assert geoqa.main(["--src", str(src), "--out", str(tmp_path / "out")]) == 0
    assert [r["answer"] for r in read_jsonl(tmp_path / "out" / "train.jsonl")] == golds  # kept as published
    assert "not whole maths after normalising (scored as normalised text): 2" in capsys.readouterr().out


def test_geoqa_test_jsonl(tmp_path, capsys):
    root = tmp_path / "r1v"
    write_image_file(root, "Geo170K/images/test/0.png", RED)
    src = write_jsonl(tmp_path / "geoqa_test_prompts.jsonl", [
        {"image_path": "./Geo170K/images/test/0.png", "question": "Find the angle.", "ground_truth": "140°"},
        {"image_path": "/etc/passwd", "question": "Find the side.", "ground_truth": "3"},
        {"image_path": "./Geo170K/images/test/0.png", "question": "Find BC.", "ground_truth": ""},
    ])
    out = tmp_path / "out"
    assert geoqa.main(["--src", str(src), "--image-root", str(root), "--out", str(out), "--split", "test"]) == 0
    (rec,) = read_jsonl(out / "test.jsonl")
    assert rec == {"id": "geoqa-test-000000", "task": "math", "images": [f"images/{sha1(RED)}.png"],
                   "problem": "Find the angle.", "answer": "140°",
                   "meta": {"source": "geoqa", "split": "test", "image_size": [32, 24]}}
    assert_paths_inside(out, [rec])
    err = capsys.readouterr().err
    assert "geoqa_test_prompts.jsonl:line 2 (id=geoqa-test-000001): unsafe image path" in err
    assert "line 3 (id=geoqa-test-000002): missing answer" in err


@pytest.fixture
def mathvista_src(tmp_path):
    src = tmp_path / "MathVista"
    metadata = {"category": "math-targeted-vqa", "context": "geometry diagram", "grade": "high school",
                "img_height": 24, "img_width": 32, "language": "english", "skills": ["algebraic reasoning"],
                "source": "Geometry3K", "split": "testmini", "task": "geometry problem solving"}
    write_parquet(src / "data" / "testmini-00000-of-00001-725687bf7a18d64b.parquet", {
        "pid": ["1", "2", "3", "4"],
        "question": ["What is the length of AB?", "Find the area.", "Which is larger?", "How tall?"],
        "image": ["images/1.jpg", "images/2.jpg", "images/3.jpg", "images/4.jpg"],
        "decoded_image": [embedded(RED), embedded(RED), embedded(RED), embedded(RED)],
        "choices": [["97", "102", "107", "122"], None, ["the cat", "the dog"], None],
        "unit": [None, "cm^2", None, None],
        "precision": [None, 1.0, None, None],
        "answer": ["107", "12.5", "the bird", None],
        "question_type": ["multi_choice", "free_form", "multi_choice", "free_form"],
        "answer_type": ["text", "float", "text", "integer"],
        "query": ["Hint: Please answer ...\nQuestion: What is the length of AB?\nChoices:\n(A) 97", "q2", "q3", "q4"],
        "metadata": [metadata] * 4,
    }, mathvista_features())
    return src, metadata


def test_mathvista_choice_letters_and_meta(mathvista_src, tmp_path, capsys):
    src, metadata = mathvista_src
    out = tmp_path / "out"
    assert mathvista.main(["--src", str(src), "--out", str(out)]) == 0
    choice, free = read_jsonl(out / "testmini.jsonl")
    assert choice["id"] == "mathvista-testmini-000000" and choice["task"] == "choice"
    assert choice["answer"] == "C" and choice["choices"] == ["97", "102", "107", "122"]
    assert choice["problem"] == "What is the length of AB?\nChoices:\n(A) 97\n(B) 102\n(C) 107\n(D) 122"
    assert choice["meta"] == {
        "source": "mathvista", "split": "testmini", "image_size": [32, 24], "pid": "1",
        "question_type": "multi_choice", "answer_type": "text", "precision": None, "unit": None,
        "answer_text": "107", "query": "Hint: Please answer ...\nQuestion: What is the length of AB?\nChoices:\n(A) 97",
        "metadata": metadata}
    assert free["task"] == "math" and free["answer"] == "12.5" and "choices" not in free
    assert free["problem"] == "Find the area. (Unit: cm^2)"
    assert free["meta"]["precision"] == 1.0 and free["meta"]["unit"] == "cm^2"
    assert free["meta"]["answer_type"] == "float"
    captured = capsys.readouterr()
    assert "row 2 (id=mathvista-testmini-000002): answer not among options: 'the bird'" in captured.err
    assert "row 3 (id=mathvista-testmini-000003): missing answer" in captured.err
