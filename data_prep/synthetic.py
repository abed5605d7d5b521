"""Synthetic visual tasks for the offline demo and the tests, in the record schema.

    python -m data_prep.synthetic --task color --n 2000 --out runs/demo/data --split train

color: one shape (circle, square or triangle) in one of three well-separated colours on a
       56x56 canvas; "What color is the shape?", answer the colour word.
count: 1-4 shapes of mixed colours on a 112x112 canvas; "How many shapes are there?".
Answers are single tokens of the tiny model's tokenizer, so a random policy can hit them.
The answer is only in the pixels: the question is identical for every record, which is
what makes the image-blind and shuffled-image controls meaningful.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from PIL import Image, ImageDraw

COLORS = {"red": (220, 30, 30), "green": (30, 180, 30), "blue": (30, 60, 220)}
SHAPES = ("circle", "square", "triangle")


def _draw_shape(draw: ImageDraw.ImageDraw, rng: random.Random, canvas: int, size: int,
                color: tuple[int, int, int]) -> list[float]:
    x, y = rng.randint(0, canvas - size), rng.randint(0, canvas - size)
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
    else:
        raise ValueError(f"unknown synthetic task {task!r}; valid: color, count")
    name = f"{split}-{index:06d}.png"
    image.save(image_dir / name)
    meta.update(source=f"synthetic_{task}", split=split, image_size=[canvas, canvas])
    return {"id": f"synthetic-{task}-{split}-{index:06d}", "task": rtask, "images": [f"images/{name}"],
            "problem": problem, "answer": answer, "meta": meta}


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
    parser.add_argument("--task", default="color", choices=["color", "count"])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--out", required=True)
    parser.add_argument("--split", default="train")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    path = write_synthetic(args.task, args.n, args.out, args.split, args.seed)
    print(f"wrote {args.n} records to {path}")


if __name__ == "__main__":
    main()
