"""Each task preset's training data, made the way a user makes it: a tiny source in the
dataset's published schema (the data_prep tests' builders), then the preset's converter.

    path = CONVERTED["refcoco_grounding"](tmp_path)   # -> tmp_path/out/train.jsonl

Every source holds two good rows. Grounding images are 200x150, so the size the model sees
(112x84 under the tests' vision.max_pixels=12544) differs from the original and the box
conventions (0..1000 grid, resized-input pixels, original pixels) all disagree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Callable

DP_TESTS = Path(__file__).resolve().parent / "data_prep"
if str(DP_TESTS) not in sys.path:
    sys.path.insert(0, str(DP_TESTS))

import datasets  # noqa: E402

from data_prep import (clevr_count, geometry3k, geoqa, lisa, sat, visual_rft_cls,  # noqa: E402
                       vlm_r1_rec)
from dp_helpers import embedded, image_bytes, write_image_file, write_parquet  # noqa: E402
from test_dp_classification import INSTRUCTION, QUESTION  # noqa: E402
from test_dp_count_choice import write_sat  # noqa: E402
from test_dp_grounding import rec_item  # noqa: E402

GROUNDING_SIZE = (200, 150)  # (w, h)
RED = image_bytes((220, 30, 30))
GREEN = image_bytes((30, 180, 30))
BIG_RED = image_bytes((220, 30, 30), size=GROUNDING_SIZE)
BIG_BLUE = image_bytes((30, 60, 220), size=GROUNDING_SIZE)

# Gold boxes, original pixels [x1, y1, x2, y2] of a 200x150 image.
REFCOCO_BOX = [50.0, 0.0, 150.0, 75.0]   # grid1000 [250, 0, 750, 500]; 112x84 input [28, 0, 84, 42]
LISA_BOX = [40.0, 30.0, 120.0, 90.0]     # grid1000 [200, 200, 600, 600]

SAT_OPTIONS = ["left", "right", "above", "below"]


def _rec(i: int, image: str, box: list[float], caption: str, dataset: str) -> dict:
    item = rec_item(i, image, box, caption=caption, width=GROUNDING_SIZE[0], height=GROUNDING_SIZE[1])
    item["dataset_name"] = dataset
    return item


def _converted(out: Path, split: str) -> Path:
    path = out / f"{split}.jsonl"
    assert path.is_file(), f"converter wrote no {path}"
    return path


def refcoco(tmp: Path) -> Path:
    """VLM-R1 `refcoco_train.json` + COCO images -> data_prep.vlm_r1_rec."""
    coco = tmp / "coco"
    write_image_file(coco, "train2014/COCO_train2014_000000000001.png", BIG_RED)
    write_image_file(coco, "train2014/COCO_train2014_000000000002.png", BIG_BLUE)
    items = [_rec(0, "train2014/COCO_train2014_000000000001.png", REFCOCO_BOX, "the red block on the top",
                  "refcoco"),
             _rec(1, "train2014/COCO_train2014_000000000002.png", [10.0, 20.0, 90.0, 140.0], "the left half",
                  "refcoco")]
    src = tmp / "refcoco_train.json"
    src.write_text(json.dumps(items))
    out = tmp / "refcoco"
    assert vlm_r1_rec.main(["--src", str(src), "--image-root", str(coco), "--out", str(out)]) == 0
    return _converted(out, "train")


def lisa_train(tmp: Path) -> Path:
    """A LISA split in VLM-R1's REC shape -> data_prep.lisa --split train."""
    root = tmp / "lisa_images"
    write_image_file(root, "train/a.png", BIG_BLUE)
    write_image_file(root, "train/b.png", BIG_RED)
    items = [_rec(0, "train/a.png", LISA_BOX, "the thing to sit on", "lisa"),
             _rec(1, "train/b.png", [100.0, 50.0, 200.0, 150.0], "what keeps the rain off", "lisa")]
    src = tmp / "lisa_train.json"
    src.write_text(json.dumps(items))
    out = tmp / "lisa"
    assert lisa.main(["--src", str(src), "--image-root", str(root), "--out", str(out), "--split", "train"]) == 0
    return _converted(out, "train")


def virft_cls(tmp: Path) -> Path:
    """A Visual-RFT few-shot set saved with DatasetDict.save_to_disk -> data_prep.visual_rft_cls."""
    train = datasets.Dataset.from_dict(
        {"image": [embedded(RED), embedded(GREEN)], "problem": [QUESTION + INSTRUCTION] * 2,
         "solution": ["<answer>737-200</answer>", "<answer>A320</answer>"]},
        features=datasets.Features({"image": datasets.Image(), "problem": datasets.Value("string"),
                                    "solution": datasets.Value("string")}))
    src = tmp / "ViRFT_CLS_fgvc_aircraft_4_shot"
    datasets.DatasetDict({"train": train}).save_to_disk(str(src))
    out = tmp / "virft"
    assert visual_rft_cls.main(["--src", str(src), "--out", str(out)]) == 0
    return _converted(out, "train")


def clevr(tmp: Path) -> Path:
    """leonardPKU/clevr_cogen_a_train parquet -> data_prep.clevr_count."""
    src = tmp / "clevr_cogen_a_train"
    write_parquet(src / "data" / "train-00000-of-00001.parquet",
                  {"image": [embedded(RED), embedded(GREEN)],
                   "problem": ["How many items are there in the image?"] * 2,
                   "solution": ["<answer> 3 </answer>", "<answer> 5 </answer>"]},
                  {"image": datasets.Image(), "problem": datasets.Value("string"),
                   "solution": datasets.Value("string")})
    out = tmp / "clevr"
    assert clevr_count.main(["--src", str(src), "--out", str(out)]) == 0
    return _converted(out, "train")


def sat_train(tmp: Path) -> Path:
    """array/SAT parquet -> data_prep.sat (options shuffled, answer = letter)."""
    src = tmp / "SAT"
    write_sat(src / "data" / "train-00000-of-00001.parquet", [
        ([RED], "Where is the cup relative to the table?", SAT_OPTIONS, "above"),
        ([GREEN], "Where is the box relative to the chair?", SAT_OPTIONS, "left"),
    ])
    out = tmp / "sat"
    assert sat.main(["--src", str(src), "--out", str(out), "--split", "train", "--first", "15000",
                     "--seed", "42"]) == 0
    return _converted(out, "train")


def geoqa_train(tmp: Path) -> Path:
    """R1-V GEOQA_R1V_Train_8K parquet -> data_prep.geoqa."""
    src = tmp / "GEOQA_R1V_Train_8K"
    write_parquet(src / "data" / "train-00000-of-00001.parquet", {
        "image": [embedded(RED), embedded(GREEN)],
        "problem": ["As shown in the figure, AB is parallel to CD, angle 1 = 140°. Find angle ABC.",
                    "In circle O, the radius is 3. Find the length of the diameter AB."],
        "solution": ["<answer>40°</answer>", "<answer>6</answer>"],
    }, {"image": datasets.Image(), "problem": datasets.Value("string"), "solution": datasets.Value("string")})
    out = tmp / "geoqa"
    assert geoqa.main(["--src", str(src), "--out", str(out), "--split", "train"]) == 0
    return _converted(out, "train")


def geometry3k_train(tmp: Path) -> Path:
    """hiyouga/geometry3k parquet -> data_prep.geometry3k."""
    src = tmp / "geometry3k"
    write_parquet(src / "data" / "train-00000-of-00001.parquet", {
        "images": [[embedded(RED)], [embedded(GREEN)]],
        "problem": ["<image>Find the area of the circle.", "<image>Find x."],
        "answer": ["12 \\pi", "2 \\sqrt { 221 }"],
        "id": [0, 1],
        "choices": [["6 \\pi", "12 \\pi", "24 \\pi", "36 \\pi"], ["20", "2 \\sqrt { 221 }", "30", "31"]],
        "ground_truth": ["B", "B"],
    }, {"images": datasets.List(datasets.Image()), "problem": datasets.Value("string"),
        "answer": datasets.Value("string"), "id": datasets.Value("int64"),
        "choices": datasets.List(datasets.Value("string")), "ground_truth": datasets.Value("string")})
    out = tmp / "geometry3k_out"
    assert geometry3k.main(["--src", str(src), "--out", str(out), "--split", "train"]) == 0
    return _converted(out, "train")


CONVERTED: dict[str, Callable[[Path], Path]] = {
    "refcoco_grounding": refcoco,
    "lisa_grounding": lisa_train,
    "fewshot_classification": virft_cls,
    "clevr_count": clevr,
    "sat_cvbench": sat_train,
    "geoqa": geoqa_train,
    "geometry3k": geometry3k_train,
}
"""Preset name -> builder of its converter's output (a train.jsonl)."""
