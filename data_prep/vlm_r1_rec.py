"""VLM-R1 processed REC JSON (refcoco_train.json, refcocop_val.json, lisa_test.json, ...) -> grounding records.

    python -m data_prep.vlm_r1_rec --src /data/rec_jsons_processed/refcoco_val.json --image-root /data/coco --out /data/refcoco_r1

Source: one JSON list of {"image": "train2014/COCO_train2014_....jpg" (relative to the COCO
root, --image-root), "width", "height", "problem", "normal_caption", "solution": [x1, y1, x2, y2]
in original pixels, "dataset_name", ...}. LISA's lisa_test.json has the same shape
(see `data_prep.lisa`).
Name and split default to the file name: refcocop_val.json -> ids "refcocop-val-000000".
The problem is rebuilt from `normal_caption` with the REC template (falling back to the
file's own `problem`); images are copied into DIR/images/ by content hash. A row whose
`width`/`height` disagree with the image file is skipped: its box would belong to another image.
"""

from __future__ import annotations

from data_prep import common, fields, sources
from gpg_vl.data.record import Record


def to_record(row: dict, rid: str, ctx: common.Context) -> Record:
    image = ctx.images.add_file(ctx.args.image_root, row.get("image"))
    declared = (row.get("width"), row.get("height"))
    if None not in declared and tuple(declared) != image.size:
        raise common.Skip("image size mismatch", f"row says {declared[0]}x{declared[1]}, "
                          f"{row.get('image')} is {image.size[0]}x{image.size[1]}")
    caption = row.get("normal_caption")
    problem = fields.rec_problem(caption) if caption else fields.question_part(row.get("problem"))
    box = fields.fit_box(row.get("solution"), image.size)
    return ctx.record(rid, "grounding", image, problem, box, expression=caption, image_file=row.get("image"),
                      dataset_name=row.get("dataset_name"), source_id=row.get("id"))


def main(argv: list[str] | None = None, *, name: str | None = None, split: str | None = None) -> int:
    p = common.parser(__doc__, split=split, image_root=True)
    p.add_argument("--name", default=name, help="source name for ids/meta (default: file name before '_')")
    args = p.parse_args(argv)
    stem_name, sep, stem_split = args.src.stem.rpartition("_")
    if not sep:
        stem_name, stem_split = args.src.stem, "train"
    args.name = args.name or stem_name
    args.split = args.split or stem_split
    return common.run(sources.read_rows(args.src, args.split), to_record, args, source=args.name)


if __name__ == "__main__":
    raise SystemExit(main())
