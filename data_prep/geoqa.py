"""GeoQA as R1-V uses it -> math records. Two published shapes, told apart by the row:

    python -m data_prep.geoqa --src /data/GEOQA_R1V_Train_8K --out /data/geoqa --split train
    python -m data_prep.geoqa --src /data/geoqa_test_prompts.jsonl --image-root /data --out /data/geoqa --split test

Train (GEOQA_R1V_Train_8K, parquet or save_to_disk): `image` (embedded), `problem`,
`solution` (with or without <answer> tags; tags are stripped).
Test (JSONL, 754 lines): {"image_path": "./Geo170K/images/test/0.png" (relative to
--image-root), "question", "ground_truth": "140°"}; images are copied into DIR/images/.
The answer text is kept as published ("140°", "8√{3}", "16π平方米"): the math reward
normalises notation and units; the summary counts golds that still do not parse whole.
"""

from __future__ import annotations

from data_prep import common, fields, sources
from gpg_vl.data.record import Record

SOURCE = "geoqa"


def to_record(row: dict, rid: str, ctx: common.Context) -> Record:
    if "image_path" in row:  # the test JSONL
        answer = fields.answer_text(row.get("ground_truth"))
        problem = fields.question_part(row.get("question"))
        image = ctx.images.add_file(ctx.args.image_root, row.get("image_path"))
    else:
        answer = fields.answer_text(row.get("solution"))
        problem = fields.question_part(row.get("problem"))
        image = ctx.images.add_embedded(row.get("image"))
    return ctx.record(rid, "math", image, problem, fields.math_gold(answer, ctx))


def main(argv: list[str] | None = None) -> int:
    args = common.parser(__doc__, split="train", image_root=True).parse_args(argv)
    return common.run(sources.read_rows(args.src, args.split), to_record, args, source=SOURCE)


if __name__ == "__main__":
    raise SystemExit(main())
