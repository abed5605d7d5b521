"""CV-Bench (nyu-visionx/CV-Bench, parquet: test_2d / test_3d) -> choice records.

    python -m data_prep.cvbench --src /data/CV-Bench --out /data/cvbench --split test

`--split test` reads both test_2d and test_3d parquet files (`test_2d` alone also works).
Source row: `idx`, `type` (2D/3D), `task` (Count, Relation, Depth, Distance), `image`,
`question`, `choices`, `answer` like "(A)", `prompt`, `source`, `filename`.
Record: answer "(A)" -> "A", choices = option texts, problem = question + lettered
options; meta keeps task, type, the row's idx and filename, and its `source` column as
`origin` (meta.source is "cvbench").
"""

from __future__ import annotations

import re

from data_prep import common, fields, sources
from gpg_vl.data.record import Record

SOURCE = "cvbench"
_LETTER = re.compile(r"^\(?\s*([A-Z])\s*\)?$")


def to_record(row: dict, rid: str, ctx: common.Context) -> Record:
    options = [str(c).strip() for c in row.get("choices") or []]
    raw = fields.require_text(row.get("answer"))
    m = _LETTER.match(raw)
    if not m or fields.LETTERS.index(m.group(1)) >= len(options):
        raise common.Skip("answer not among options", f"{raw!r} for {len(options)} options")
    question = fields.require_text(row.get("question"), "question")
    image = ctx.images.add_embedded(row.get("image"))
    return ctx.record(rid, "choice", image, fields.choice_problem(question, options), m.group(1), options,
                      task=row.get("task"), type=row.get("type"), idx=row.get("idx"), origin=row.get("source"),
                      filename=row.get("filename"))


def main(argv: list[str] | None = None) -> int:
    args = common.parser(__doc__, split="test").parse_args(argv)
    return common.run(sources.read_rows(args.src, args.split), to_record, args, source=SOURCE)


if __name__ == "__main__":
    raise SystemExit(main())
