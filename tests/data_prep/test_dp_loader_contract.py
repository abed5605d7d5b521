"""The converters' output reads back through the project's own loader, image paths and sizes included."""

from __future__ import annotations

import json

from data_prep import vlm_r1_rec
from dp_helpers import image_bytes, write_image_file


def test_output_loads_with_gpg_vl_loader(tmp_path):
    from gpg_vl.data.loading import load_records  # imports the vision stack: a few seconds

    coco = tmp_path / "coco"
    write_image_file(coco, "val2014/a.png", image_bytes(size=(40, 30)))
    src = tmp_path / "refcoco_val.json"
    src.write_text(json.dumps([{"image": "val2014/a.png", "width": 40, "height": 30, "normal_caption": "the dog",
                                "problem": "unused", "solution": [1, 2, 39, 29]}]))
    out = tmp_path / "elsewhere" / "out"
    assert vlm_r1_rec.main(["--src", str(src), "--image-root", str(coco), "--out", str(out)]) == 0
    (rec,) = load_records(out / "val.jsonl")  # no image_root: paths resolve against the JSONL's folder
    assert str(rec.images[0]).startswith(str(out / "images"))
    assert rec.meta["original_sizes"] == [rec.meta["image_size"]] == [[40, 30]]
    assert rec.answer == [1, 2, 39, 29] and rec.task == "grounding"
