"""Classification converters: Visual-RFT few-shot sets (save_to_disk) and image folders."""

from __future__ import annotations

import datasets
import pytest

from data_prep import image_folder
from dp_helpers import (assert_paths_inside, embedded, image_bytes, images_in, read_jsonl, run_cli, sha1,
                        write_image_file)

INSTRUCTION = ("\nOutput the thinking process in <think> </think> and final answer in <answer> </answer> tags."
               "The output answer format should be as follows:\n<think> ... </think> <answer>species name</answer>\n"
               "Please strictly follow the format.")
QUESTION = "This is an image containing an aircraft. Please identify the model of the aircraft based on the image."


@pytest.fixture
def virft_src(tmp_path):
    """A DatasetDict saved like laolao77/ViRFT_CLS_fgvc_aircraft_4_shot."""
    red, green = image_bytes((255, 0, 0)), image_bytes((0, 255, 0))
    train = datasets.Dataset.from_dict(
        {"image": [embedded(red), embedded(green), embedded(red), embedded(b"\x89PNG truncated")],
         "problem": [QUESTION + INSTRUCTION] * 4,
         "solution": ["<answer>737-200</answer>", "<answer> A320 </answer>", "<answer></answer>",
                      "<answer>MD-11</answer>"]},
        features=datasets.Features({"image": datasets.Image(), "problem": datasets.Value("string"),
                                    "solution": datasets.Value("string")}))
    src = tmp_path / "ViRFT_CLS_fgvc_aircraft_4_shot"
    datasets.DatasetDict({"train": train}).save_to_disk(str(src))
    return src, red, green


def test_visual_rft_cli_keeps_question_and_label(virft_src, tmp_path):
    src, red, green = virft_src
    out = tmp_path / "out"
    proc = run_cli("visual_rft_cls", "--src", src, "--out", out)
    assert proc.returncode == 0, proc.stderr
    recs = read_jsonl(out / "train.jsonl")
    assert [r["id"] for r in recs] == ["virft_cls_fgvc_aircraft_4_shot-train-000000",
                                       "virft_cls_fgvc_aircraft_4_shot-train-000001"]
    assert [r["answer"] for r in recs] == ["737-200", "A320"]
    assert all(r["task"] == "classification" and r["problem"] == QUESTION for r in recs)
    assert recs[0]["images"] == [f"images/{sha1(red)}.png"]
    assert recs[0]["meta"] == {"source": "virft_cls_fgvc_aircraft_4_shot", "split": "train", "image_size": [32, 24]}
    assert images_in(out) == sorted([f"{sha1(red)}.png", f"{sha1(green)}.png"])
    assert "missing answer: 1" in proc.stdout and "undecodable image: 1" in proc.stdout
    assert "[train]:row 2 (id=virft_cls_fgvc_aircraft_4_shot-train-000002): missing answer" in proc.stderr


def test_visual_rft_unknown_split_is_fatal(virft_src, tmp_path):
    src, _, _ = virft_src
    proc = run_cli("visual_rft_cls", "--src", src, "--out", tmp_path / "out", "--split", "test")
    assert proc.returncode == 2
    assert "no split 'test'; it has train" in proc.stderr


@pytest.fixture
def folder_src(tmp_path):
    root = tmp_path / "flowers"
    for label, n in (("globe_thistle", 8), ("rose", 3), ("daisy", 1)):
        for i in range(n):
            write_image_file(root, f"{label}/{i}.jpg", image_bytes((i * 40, len(label) * 10, 7), fmt="JPEG"))
    write_image_file(root, "rose/notes.txt", b"not an image")
    write_image_file(root, "daisy/broken.jpg", b"garbage")
    write_image_file(root, "stray.png", image_bytes((1, 2, 3)))
    return root


def test_image_folder_k_shot_is_seeded_and_lists_labels(folder_src, tmp_path, capsys):
    out_a, out_b, out_c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((out_a, 0), (out_b, 0), (out_c, 1)):
        assert image_folder.main(["--src", str(folder_src), "--out", str(out), "--shots", "3",
                                  "--seed", str(seed)]) == 0
    recs = read_jsonl(out_a / "train.jsonl")
    files = [r["meta"]["image_file"] for r in recs]
    assert files == [r["meta"]["image_file"] for r in read_jsonl(out_b / "train.jsonl")]  # same seed, same draw
    assert files != [r["meta"]["image_file"] for r in read_jsonl(out_c / "train.jsonl")]  # another seed differs
    assert [f.split("/")[0] for f in files] == ["daisy"] + ["globe_thistle"] * 3 + ["rose"] * 3
    assert [r["answer"] for r in recs] == ["daisy"] + ["globe thistle"] * 3 + ["rose"] * 3
    assert recs[0]["problem"] == ("What is the category of the object in this image? "
                                  "Choose one of: daisy, globe thistle, rose.")
    assert recs[0]["task"] == "classification" and recs[0]["id"] == "flowers-train-000001"
    assert_paths_inside(out_a, recs)
    captured = capsys.readouterr()
    assert "stray.png (id=flowers-train-000000): missing answer" in captured.err
    assert "note: daisy has 2 images, fewer than --shots 3" in captured.err
    assert "daisy/broken.jpg (id=flowers-train-000002): undecodable image: not a known image format" in captured.err


def test_image_folder_without_shots_keeps_everything(folder_src, tmp_path):
    assert image_folder.main(["--src", str(folder_src), "--out", str(tmp_path), "--split", "val",
                              "--name", "flowers102"]) == 0
    recs = read_jsonl(tmp_path / "val.jsonl")
    assert len(recs) == 12 and recs[0]["meta"]["source"] == "flowers102"
