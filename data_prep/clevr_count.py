"""CLEVR counting (leonardPKU/clevr_cogen_a_train, parquet or save_to_disk) -> count records.

    python -m data_prep.clevr_count --src /data/clevr_cogen_a_train --out /data/clevr_count

Source row: `image` (embedded), `problem` ("How many items are there in the image?"),
`solution` like "<answer> 3 </answer>". Record: answer = the int inside the tags.
"""

from __future__ import annotations

from data_prep import common, fields, sources
from gpg_vl.data.record import Record

SOURCE = "clevr_count"


def to_record(row: dict, rid: str, ctx: common.Context) -> Record:
    count = fields.count_answer(row.get("solution"))
    problem = fields.question_part(row.get("problem"))
    image = ctx.images.add_embedded(row.get("image"))
    return ctx.record(rid, "count", image, problem, count)


def main(argv: list[str] | None = None) -> int:
    args = common.parser(__doc__, split="train").parse_args(argv)
    return common.run(sources.read_rows(args.src, args.split), to_record, args, source=SOURCE)


if __name__ == "__main__":
    raise SystemExit(main())
