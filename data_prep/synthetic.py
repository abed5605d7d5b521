"""Synthetic visual tasks for the offline demo and the tests, in the record schema.

    python -m data_prep.synthetic --task color --n 2000 --out runs/demo/data --split train

color: one shape (circle, square or triangle) in one of three well-separated colours on a
       56x56 canvas; "What color is the shape?", answer the colour word.
count: 1-4 shapes of mixed colours on a 112x112 canvas; "How many shapes are there?".

The evidence study's tasks (bench/study.py), one per task family the presets train:
grounding:      two shapes of two different colours (of six) in distinct cells of a 2x2
                grid on a 112x112 canvas, each 31-51 px at a random place in its cell;
                "Find the <colour> shape. Output its bounding box."; the answer is its box
                in original pixels [x1, y1, x2, y2] (task "grounding": IoU and format
                rewards, the box written in the model family's convention).
classification: one shape in one of six colours on a 56x56 canvas; the colour word.
counting:       1-4 shapes (18-26 px, mixed kinds and colours) in distinct cells of a 2x2 grid
                on a 56x56 canvas; "How many shapes are there?"; the number (task "count").

Answers are single tokens of the tiny model's tokenizer (boxes: numbers), so a random
policy can hit them. The answer is only in the pixels: apart from the grounding task's
colour word, the question is identical for every record, and the grounding target's place
is independent of its colour, which is what makes the image-blind and shuffled-image
controls meaningful.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from PIL import Image, ImageDraw

from gpg_vl.config import SYNTHETIC_TASKS as TASKS

COLORS = {"red": (220, 30, 30), "green": (30, 180, 30), "blue": (30, 60, 220)}
COLORS6 = {**COLORS, "yellow": (235, 205, 20), "purple": (140, 40, 170), "orange": (245, 130, 20)}
SHAPES = ("circle", "square", "triangle")
BACKGROUND = (245, 245, 245)
DISTRACTOR = (150, 150, 150)


def _draw_shape(draw: ImageDraw.ImageDraw, rng: random.Random, canvas: int, size: int,
                color: tuple[int, int, int], at: tuple[int, int] | None = None) -> list[float]:
    x, y = at if at is not None else (rng.randint(0, canvas - size), rng.randint(0, canvas - size))
    box = [x, y, x + size, y + size]
    kind = rng.choice(SHAPES)
    if kind == "circle":
        draw.ellipse(box, fill=color)
    elif kind == "square":
        draw.rectangle(box, fill=color)
    else:
        draw.polygon([(x + size / 2, y), (x, y + size), (x + size, y + size)], fill=color)
    return [float(v) for v in box]


def make_record(task: str, index: int, rng: random.Random, image_dir: Path, split: str) -> dict:
    if task == "color":
        canvas = 56
        image = Image.new("RGB", (canvas, canvas), (245, 245, 245))
        color = rng.choice(sorted(COLORS))
        box = _draw_shape(ImageDraw.Draw(image), rng, canvas, rng.randint(28, 48), COLORS[color])
        problem, answer, rtask = "What color is the shape? Answer with one word.", color, "classification"
        meta = {"box": box}
    elif task == "count":
        canvas = 112
        image = Image.new("RGB", (canvas, canvas), (245, 245, 245))
        n = rng.randint(1, 4)
        draw = ImageDraw.Draw(image)
        for _ in range(n):
            _draw_shape(draw, rng, canvas, rng.randint(14, 24), COLORS[rng.choice(sorted(COLORS))])
        problem, answer, rtask, meta = "How many shapes are there? Answer with a number.", n, "count", {}
    elif task == "grounding":
        canvas = 112
        image, problem, answer = _grounding(rng, canvas)
        rtask, meta = "grounding", {}
    elif task == "classification":
        canvas = 56
        image = Image.new("RGB", (canvas, canvas), BACKGROUND)
        color = rng.choice(sorted(COLORS6))
        _draw_shape(ImageDraw.Draw(image), rng, canvas, rng.randint(24, 44), COLORS6[color])
        problem, answer, rtask, meta = "What color is the shape? Answer with one word.", color, "classification", {}
    elif task == "counting":
        canvas, image, answer = 56, *_counting(rng)
        problem, rtask, meta = "How many shapes are there? Answer with a number.", "count", {}
    else:
        raise ValueError(f"unknown synthetic task {task!r}; valid: {', '.join(TASKS)}")
    name = f"{split}-{index:06d}.png"
    image.save(image_dir / name)
    meta.update(source=f"synthetic_{task}", split=split, image_size=[canvas, canvas])
    return {"id": f"synthetic-{task}-{split}-{index:06d}", "task": rtask, "images": [f"images/{name}"],
            "problem": problem, "answer": answer, "meta": meta}


def _grounding(rng: random.Random, canvas: int = 112, grid: int = 2, shapes: int = 2) -> tuple[Image.Image, str, list[float]]:
    """`shapes` shapes in distinct cells of a grid x grid layout: the asked one in one of six
    colours, the others plain grey distractors. (With every shape coloured, the study's tiny
    models never bound the colour word to a place: docs/experiments.md.)"""
    image = Image.new("RGB", (canvas, canvas), BACKGROUND)
    draw = ImageDraw.Draw(image)
    cell = canvas // grid
    cells = rng.sample(range(grid * grid), shapes)
    color = rng.choice(sorted(COLORS6))
    boxes = []
    for i, where in enumerate(cells):
        size = rng.randint(cell * 5 // 9, cell * 11 // 12)
        x0, y0 = (where % grid) * cell, (where // grid) * cell
        at = (x0 + rng.randint(0, cell - size), y0 + rng.randint(0, cell - size))
        boxes.append(_draw_shape(draw, rng, canvas, size, COLORS6[color] if i == 0 else DISTRACTOR, at))
    return image, f"Find the {color} shape. Output its bounding box.", boxes[0]


def _counting(rng: random.Random, canvas: int = 56, grid: int = 2) -> tuple[Image.Image, int]:
    """1-4 shapes (mixed kinds and colours, 18-26 px) in distinct cells of a 2x2 grid, none overlapping."""
    image = Image.new("RGB", (canvas, canvas), BACKGROUND)
    draw = ImageDraw.Draw(image)
    cell = canvas // grid
    n = rng.randint(1, grid * grid)
    for where in rng.sample(range(grid * grid), n):
        size = rng.randint(cell * 9 // 14, cell * 13 // 14)
        at = ((where % grid) * cell + rng.randint(0, cell - size), (where // grid) * cell + rng.randint(0, cell - size))
        _draw_shape(draw, rng, canvas, size, COLORS6[rng.choice(sorted(COLORS6))], at)
    return image, n


def write_synthetic(task: str, n: int, out_dir: str | Path, split: str = "train", seed: int = 0) -> Path:
    """Write `out_dir/<split>.jsonl` and `out_dir/images/`; returns the JSONL path."""
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{task}-{split}-{seed}")
    path = out / f"{split}.jsonl"
    tmp = path.with_suffix(".jsonl.tmp")
    with tmp.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps(make_record(task, i, rng, out / "images", split)) + "\n")
    tmp.replace(path)  # atomic: a half-written file is never mistaken for a dataset
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a synthetic visual task as records.")
    parser.add_argument("--task", default="color", choices=list(TASKS))
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--out", required=True)
    parser.add_argument("--split", default="train")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    path = write_synthetic(args.task, args.n, args.out, args.split, args.seed)
    print(f"wrote {args.n} records to {path}")


if __name__ == "__main__":
    main()
