"""Grounding converters: lmms-lab RefCOCO parquet, VLM-R1 REC JSON, LISA."""

from __future__ import annotations

import json

import datasets
import pytest

from data_prep import lisa, vlm_r1_rec
from dp_helpers import (SIZE, assert_paths_inside, embedded, image_bytes, images_in, read_jsonl, run_cli, sha1,
                        write_image_file, write_parquet)

RED, BLUE = image_bytes((255, 0, 0)), image_bytes((0, 0, 255))

REFCOCO_FEATURES = {
    "question_id": datasets.Value("string"),
    "image": datasets.Image(),
    "question": datasets.Value("string"),
    "answer": datasets.List(datasets.Value("string")),
    "segmentation": datasets.List(datasets.Value("float32")),
    "bbox": datasets.List(datasets.Value("float32")),
    "iscrowd": datasets.Value("int8"),
    "file_name": datasets.Value("string"),
}


def refcoco_rows(rows: list[tuple]) -> dict:
    """(question_id, image bytes, expressions, bbox xywh) -> lmms-lab columns."""
    return {
        "question_id": [r[0] for r in rows],
        "image": [embedded(r[1], f"COCO_train2014_{r[0]}.jpg") for r in rows],
        "question": ["Please carefully observe the area circled in the image and come up with a caption."] * len(rows),
        "answer": [r[2] for r in rows],
        "segmentation": [[0.0, 0.0, 1.0, 1.0]] * len(rows),
        "bbox": [r[3] for r in rows],
        "iscrowd": [0] * len(rows),
        "file_name": [f"COCO_train2014_{r[0]}_1.jpg" for r in rows],
    }


@pytest.fixture
def refcoco_src(tmp_path):
    src = tmp_path / "lmms-lab-RefCOCO"
    rows = [
        ("q0", RED, ["the red thing", "left block", "the red thing"], [2.0, 3.0, 10.0, 8.0]),
        ("q1", RED, ["whole image."], [20.0, 10.0, 13.0, 14.5]),   # overshoots by 1 and 0.5 px: clipped
        ("q2", BLUE, ["far right"], [25.0, 5.0, 20.0, 5.0]),       # x2 = 45 on a 32-wide image: skipped
        ("q3", b"not an image", ["broken"], [1.0, 1.0, 2.0, 2.0]),
        ("q4", BLUE, [], [1.0, 1.0, 2.0, 2.0]),
    ]
    write_parquet(src / "data" / "val-00000-of-00001.parquet", refcoco_rows(rows), REFCOCO_FEATURES)
    write_parquet(src / "data" / "testA-00000-of-00001.parquet",
                  refcoco_rows([("t0", BLUE, ["x"], [1.0, 1.0, 2.0, 2.0])]), REFCOCO_FEATURES)
    return src


def test_refcoco_cli_converts_boxes_dedups_images_and_counts_skips(refcoco_src, tmp_path):
    out = tmp_path / "out"
    proc = run_cli("refcoco", "--src", refcoco_src, "--out", out, "--split", "val")
    assert proc.returncode == 0, proc.stderr
    recs = read_jsonl(out / "val.jsonl")
    # row 0: two distinct expressions (the repeat is dropped), row 1: one; rows 2-4 skipped
    assert [r["id"] for r in recs] == ["refcoco-val-000000-0", "refcoco-val-000000-1", "refcoco-val-000001-0"]
    first = recs[0]
    assert first["task"] == "grounding"
    assert first["answer"] == pytest.approx([2.0, 3.0, 12.0, 11.0])  # x, y, w, h -> x1, y1, x2, y2
    assert first["problem"] == ("Please provide the bounding box coordinate of the region this sentence "
                                "describes: the red thing.")
    assert recs[1]["problem"].endswith("describes: left block.")
    assert recs[2]["problem"].endswith("describes: whole image.")  # no doubled period
    assert recs[2]["answer"] == pytest.approx([20.0, 10.0, 32.0, 24.0])  # tiny overshoot clipped
    assert first["meta"] == {"source": "refcoco", "split": "val", "image_size": list(SIZE), "question_id": "q0",
                             "file_name": "COCO_train2014_q0_1.jpg", "expression": "the red thing"}
    # rows 0 and 1 embed the same bytes: one file named by its hash, shared by all three records
    assert {r["images"][0] for r in recs} == {f"images/{sha1(RED)}.png"}
    assert images_in(out) == [f"{sha1(RED)}.png"]
    assert_paths_inside(out, recs)
    assert "wrote 3 records" in proc.stdout
    for reason in ("box outside image: 1", "undecodable image: 1", "missing answer: 1"):
        assert reason in proc.stdout
    assert "val-00000-of-00001.parquet:row 2 (id=refcoco-val-000002): box outside image" in proc.stderr
    assert "row 3 (id=refcoco-val-000003): undecodable image" in proc.stderr


def test_refcoco_one_record_per_question(refcoco_src, tmp_path):
    from data_prep import refcoco

    assert refcoco.main(["--src", str(refcoco_src), "--out", str(tmp_path), "--split", "val",
                         "--per", "question", "--name", "refcocog"]) == 0
    recs = read_jsonl(tmp_path / "val.jsonl")
    assert [r["id"] for r in recs] == ["refcocog-val-000000-0", "refcocog-val-000001-0"]
    assert recs[0]["meta"]["source"] == "refcocog"


def test_refcoco_corrupt_parquet_is_fatal_and_names_the_file(tmp_path):
    src = tmp_path / "src" / "data"
    src.mkdir(parents=True)
    (src / "val-00000-of-00001.parquet").write_bytes(b"PAR1 this is not parquet")
    proc = run_cli("refcoco", "--src", tmp_path / "src", "--out", tmp_path / "out", "--split", "val")
    assert proc.returncode == 2
    assert "val-00000-of-00001.parquet: corrupt parquet file" in proc.stderr
    assert not (tmp_path / "out" / "val.jsonl").exists()


def rec_item(i: int, image: str, solution, caption="the lady", width=32, height=24) -> dict:
    """One entry of a VLM-R1 processed REC file."""
    return {"height": height, "width": width, "id": i, "image": image,
            "problem": f"Please provide the bounding box coordinate of the region this sentence describes: {caption}.",
            "normal_caption": caption, "solution": solution,
            "normalized_solution": [0, 0, 1000, 1000], "dataset_name": "refcocop"}


def test_vlm_r1_rec_reads_paths_under_image_root(tmp_path, capsys):
    coco = tmp_path / "coco"
    write_image_file(coco, "train2014/a.jpg", image_bytes((0, 255, 0), fmt="JPEG"))
    write_image_file(coco, "train2014/b.png", RED)
    write_image_file(coco, "train2014/b_copy.png", RED)
    items = [
        rec_item(0, "train2014/a.jpg", [1.5, 2.0, 30.0, 23.0]),
        rec_item(1, "train2014/b.png", [0.0, 0.0, 33.5, 24.0]),       # 1.5 px over: clipped
        rec_item(2, "train2014/b_copy.png", [0, 0, 10, 10], caption=None),
        rec_item(3, "../secrets/x.png", [0, 0, 10, 10]),
        rec_item(4, "train2014/b.png", [0.0, 0.0, 10.0, 40.0]),       # y2 = 40 on 24 rows
        rec_item(5, "train2014/missing.png", [0, 0, 10, 10]),
        rec_item(6, "train2014/b.png", None),
        rec_item(7, "train2014/b.png", [0, 0, 10, 10], width=640, height=480),
    ]
    src = tmp_path / "refcocop_val.json"
    src.write_text(json.dumps(items))
    out = tmp_path / "out"
    assert vlm_r1_rec.main(["--src", str(src), "--image-root", str(coco), "--out", str(out)]) == 0
    recs = read_jsonl(out / "val.jsonl")  # split and name come from the file name
    assert [r["id"] for r in recs] == ["refcocop-val-000000", "refcocop-val-000001", "refcocop-val-000002"]
    assert recs[0]["answer"] == [1.5, 2.0, 30.0, 23.0]
    assert recs[0]["images"] == [f"images/{sha1(image_bytes((0, 255, 0), fmt='JPEG'))}.jpg"]
    assert recs[1]["answer"] == [0.0, 0.0, 32.0, 24.0]
    assert recs[0]["problem"].endswith("describes: the lady.")
    # no caption: the file's own problem text is used
    assert recs[2]["problem"] == items[2]["problem"]
    # b.png and b_copy.png hold the same bytes: one stored file
    assert recs[1]["images"] == recs[2]["images"]
    assert len(images_in(out)) == 2
    assert recs[0]["meta"] == {"source": "refcocop", "split": "val", "image_size": [32, 24],
                               "expression": "the lady", "image_file": "train2014/a.jpg",
                               "dataset_name": "refcocop", "source_id": 0}
    assert_paths_inside(out, recs)
    captured = capsys.readouterr()
    assert "refcocop_val.json:item 3 (id=refcocop-val-000003): unsafe image path" in captured.err
    assert "item 4 (id=refcocop-val-000004): box outside image" in captured.err
    for reason in ("unsafe image path: 1", "box outside image: 1", "missing image: 1", "missing answer: 1",
                   "image size mismatch: 1"):
        assert reason in captured.out


def test_vlm_r1_rec_without_image_root_is_fatal(tmp_path, capsys):
    src = tmp_path / "refcoco_val.json"
    src.write_text(json.dumps([rec_item(0, "a.png", [0, 0, 1, 1])]))
    assert vlm_r1_rec.main(["--src", str(src), "--out", str(tmp_path / "out")]) == 2
    assert "--image-root" in capsys.readouterr().err


def test_lisa_defaults_name_and_split(tmp_path):
    root = tmp_path / "lisa"
    write_image_file(root, "test/img1.png", BLUE)
    src = tmp_path / "lisa_test.json"
    src.write_text(json.dumps([rec_item(0, "test/img1.png", [4, 4, 20, 20], caption="the thing to sit on")]))
    assert lisa.main(["--src", str(src), "--image-root", str(root), "--out", str(tmp_path / "out")]) == 0
    (rec,) = read_jsonl(tmp_path / "out" / "test.jsonl")
    assert rec["id"] == "lisa-test-000000"
    assert rec["answer"] == [4, 4, 20, 20]
    assert rec["meta"]["source"] == "lisa"
