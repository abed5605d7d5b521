"""The rollout report during training (log.report_every): eval's page code draws a step's
rollouts; the predicted box is the one the iou rule scored, in original-image pixels."""

from __future__ import annotations

import html
import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from eval import rollout_report
from eval.report import PRED_COLOR, TRUE_COLOR, write_page
from eval.rollout_report import pick_groups, rollout_rows
from gpg_vl import algos, families
from gpg_vl.config import ModelConfig
from gpg_vl.data.collator import PromptCollator
from gpg_vl.data.loading import load_records
from gpg_vl.models import load_processor
from gpg_vl.rewards import build_rewards, score_batch
from gpg_vl.rollout.batch import RolloutBatch

SIZES = [(200, 150), (120, 90), (160, 160), (90, 120)]  # (w, h), original pixels
BOXES = [[50.0, 30.0, 150.0, 120.0], [10.0, 10.0, 60.0, 45.0], [40.0, 40.0, 120.0, 120.0], [5.0, 20.0, 60.0, 100.0]]
THINK = "<think>there</think>"


@pytest.fixture
def grounding_jsonl(tmp_path):
    """Four grounding records: a blue block on grey (no pure red or green pixel), box in original pixels."""
    (tmp_path / "img").mkdir()
    lines = []
    for i, (size, box) in enumerate(zip(SIZES, BOXES)):
        image = Image.new("RGB", size, (240, 240, 240))
        ImageDraw.Draw(image).rectangle(box, fill=(30, 60, 220))
        image.save(tmp_path / "img" / f"{i}.png")
        lines.append({"id": f"g{i}", "task": "grounding", "images": [f"img/{i}.png"], "problem": "the blue block",
                      "answer": box, "meta": {"image_size": list(size)}})
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def color_box(png, color) -> list[int] | None:
    """[x1, y1, x2, y2] spanned by the pixels of exactly `color`, None if there are none."""
    pixels = np.asarray(Image.open(png).convert("RGB"))
    ys, xs = np.nonzero((pixels == color).all(axis=-1))
    return [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())] if len(xs) else None


def test_groups_shown_are_best_and_worst_alternately():
    totals = torch.tensor([0.2, 0.2, 0.9, 0.9, 0.0, 0.0, 0.5, 0.5])  # G = 2: group means 0.2, 0.9, 0.0, 0.5
    assert pick_groups(totals, 2, 3) == [1, 2, 3]
    assert pick_groups(totals, 2, 9) == [1, 2, 3, 0]
    assert pick_groups(torch.zeros(4), 2, 2) == [0, 1]  # ties: by index


def test_a_parsed_box_is_drawn_red_in_original_pixels_beside_the_green_truth(tiny_qwen2_vl, grounding_jsonl, tmp_path):
    processor = load_processor(ModelConfig(path=str(tiny_qwen2_vl)))
    family = families.family_at(tiny_qwen2_vl)
    prompts = PromptCollator(processor, family, max_pixels=12544)(load_records(grounding_jsonl)[:2])
    # Qwen2-VL's 0..1000 grid on the 200x150 image: [250, 200, 500, 800] is [50, 30, 100, 120] in
    # pixels, the left half of the true [50, 30, 150, 120]: IoU 0.5
    texts = [THINK + "<answer>[250, 200, 500, 800]</answer>", "I cannot tell.", "no", "none"]
    batch = RolloutBatch(prompts=prompts, group_size=2, completion_ids=torch.zeros(4, 1, dtype=torch.long),
                         completion_mask=torch.ones(4, 1, dtype=torch.long), texts=texts)
    score_batch(build_rewards({"iou": 1.0, "format": 1.0}), batch, "qwen2_vl")
    batch.advantages = algos.group_advantages(batch.reward_total, 2)  # totals [1.5, 0, 0, 0]: [+0.75, -0.75, 0, 0]

    rows = rollout_rows(batch, "qwen2_vl", [0, 1])
    assert [r["completion"] for r in rows] == texts  # each group's best first (ties by row)
    assert rows[0]["parsed"] == [50.0, 30.0, 100.0, 120.0] and rows[1]["parsed"] is None
    assert rows[0]["rewards"] == pytest.approx({"iou": 0.5, "format": 1.0}) and rows[0]["score"] == pytest.approx(1.5)
    assert [r["advantage"] for r in rows] == pytest.approx([0.75, -0.75, 0.0, 0.0])

    page = write_page(rows, tmp_path / "page", "rollouts", "a test").read_text()
    assert "iou 0.500, format 1.000" in page and "advantage: +0.750" in page and "advantage: -0.750" in page
    # 200x150 -> a 320x240 thumbnail (x1.6): predicted [80, 48, 160, 192], true [80, 48, 240, 192]
    # (the red box drawn over the green one's left edge)
    assert color_box(tmp_path / "page" / "item-001.png", PRED_COLOR) == [80, 48, 160, 192]
    assert color_box(tmp_path / "page" / "item-001.png", TRUE_COLOR) == [161, 48, 240, 192]
    assert color_box(tmp_path / "page" / "item-002.png", PRED_COLOR) is None  # no box read
    assert color_box(tmp_path / "page" / "item-002.png", TRUE_COLOR) == [80, 48, 240, 192]


def test_cli_writes_a_report_page_every_step(tiny_qwen2_vl, grounding_jsonl, tmp_path, monkeypatch):
    from gpg_vl.train import main

    shown = {}

    def spy(run, step, batch):
        shown[step] = rollout_rows(batch, run.family, pick_groups(batch.reward_total, batch.group_size, 2))
        return write(run, step, batch)

    write = rollout_report.write_rollout_report
    monkeypatch.setattr(rollout_report, "write_rollout_report", spy)  # default_hooks imports it at call
    out = tmp_path / "run"
    assert main(["--preset", "refcoco_grounding", f"model.path={tiny_qwen2_vl}", "model.dtype=float32",
                 "model.gradient_checkpointing=false", f"data.train={grounding_jsonl}", "optim.steps=2",
                 "optim.prompts_per_step=2", "rollout.group_size=2", "rollout.max_new_tokens=8",
                 "algo.max_resample_attempts=1", "vision.max_pixels=12544", f"log.out_dir={out}",
                 "log.tensorboard=false", "log.plot=false", "log.progress=false", "ckpt.final=false",
                 "log.report_every=1"]) == 0
    assert sorted(shown) == [1, 2]
    for step, rows in shown.items():
        folder = out / "reports" / f"step-{step:06d}"
        page = (folder / "index.html").read_text()
        assert len(rows) == 4 and page.count("<tr><td>") == 4  # 2 groups x G = 2
        for row in rows:
            assert html.escape(row["completion"]) in page and html.escape(row["id"]) in page
            assert f"iou {row['rewards']['iou']:.3f}, format {row['rewards']['format']:.3f}" in page
            assert f"advantage: {row['advantage']:+.3f}" in page
        assert len(list(folder.glob("item-*.png"))) == 4
