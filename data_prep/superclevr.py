"""SuperCLEVR counting test (R1-V's superclevr_test200_counting_problems.jsonl) -> count records.

    python -m data_prep.superclevr --src /data/superclevr_test200_counting_problems.jsonl --image-root /data/SuperCLEVR --out /data/superclevr --split test

Source line: {"image_path": "./images/superCLEVR_new_025000.png" (relative to --image-root),
"question": "How many different items are there in the image?", "ground_truth": 4}.
Images are copied into DIR/images/ by content hash.
"""

from __future__ import annotations

from data_prep import common, fields, sources
from gpg_vl.data.record import Record

SOURCE = "superclevr"


def to_record(row: dict, rid: str, ctx: common.Context) -> Record:
    count = fields.count_answer(row.get("ground_truth"))
    image = ctx.images.add_file(ctx.args.image_root, row.get("image_path"))
    problem = fields.question_part(row.get("question"))
    return ctx.record(rid, "count", image, problem, count, image_file=row.get("image_path"))


def main(argv: list[str] | None = None) -> int:
    args = common.parser(__doc__, split="test", image_root=True).parse_args(argv)
    return common.run(sources.read_rows(args.src, args.split), to_record, args, source=SOURCE)


if __name__ == "__main__":
    raise SystemExit(main())
