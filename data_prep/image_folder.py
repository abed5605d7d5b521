"""Any image-folder classification set (root/<label>/*.jpg) -> k-shot classification records.

    python -m data_prep.image_folder --src /data/flowers102/train --out /data/flowers_4shot --shots 4 --seed 0

Labels are the sub-folder names, shown with "_" as spaces ("globe_thistle" -> "globe thistle");
that text is the answer. Every prompt lists all labels (sorted) so the model names one of
them. `--shots k` draws k images per label with a seeded generator (a label with fewer
keeps all, and says so); the draw for a label depends only on the seed and the label,
not on what other folders hold. Images are copied into DIR/images/ by content hash.
An image lying directly in the root has no label and is skipped.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Iterator

from data_prep import common
from gpg_vl.data.record import Record

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"}
QUESTION = "What is the category of the object in this image?"


def to_record(row: dict, rid: str, ctx: common.Context) -> Record:
    if row["label"] is None:
        raise common.Skip("missing answer", f"{row['file']} is not inside a label folder")
    image = ctx.images.add_file(ctx.args.src, row["file"])
    return ctx.record(rid, "classification", image, ctx.args.problem, row["label"], image_file=row["file"])


def display_label(folder: str) -> str:
    return folder.replace("_", " ").strip()


def sample_rows(root: Path, shots: int | None, seed: int) -> Iterator[common.Row]:
    """Rows {"label", "file"} in label order; `file` is relative to `root`."""
    index = 0
    for file in _images(root):  # unlabeled strays first, so they are reported
        yield common.Row(file.name, index, {"label": None, "file": file.name})
        index += 1
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = _images(folder)
        if shots is not None and len(files) > shots:
            files = sorted(random.Random(f"{seed}:{folder.name}").sample(files, shots))
        elif shots is not None and len(files) < shots:
            print(f"note: {folder.name} has {len(files)} images, fewer than --shots {shots}", file=sys.stderr)
        for file in files:
            rel = f"{folder.name}/{file.name}"
            yield common.Row(rel, index, {"label": display_label(folder.name), "file": rel})
            index += 1


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS)


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__, split="train")
    p.add_argument("--name", help="source name for ids/meta (default: the --src folder name, lower case)")
    p.add_argument("--shots", type=int, help="images per label (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the k-shot draw")
    p.add_argument("--question", default=QUESTION, help="question put before the label list")
    args = p.parse_args(argv)
    if not args.src.is_dir():
        p.error(f"--src {args.src} is not a folder")
    labels = sorted(display_label(d.name) for d in args.src.iterdir() if d.is_dir() and not d.name.startswith("."))
    args.problem = f"{args.question} Choose one of: {', '.join(labels)}."
    name = args.name or args.src.name.lower()
    return common.run(sample_rows(args.src, args.shots, args.seed), to_record, args, source=name)


if __name__ == "__main__":
    raise SystemExit(main())
