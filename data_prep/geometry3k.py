"""Geometry3K (hiyouga/geometry3k, parquet: train / validation / test) -> math records.

    python -m data_prep.geometry3k --src /data/geometry3k --out /data/geometry3k --split train

Source row: `images` (list of embedded images, one in practice), `problem` starting with
"<image>" (dropped), `answer` (bare loose LaTeX: "3", "2 \\sqrt { 221 }"), `id`, `choices`,
`ground_truth`. The answer is taken from `answer` as is (the summary counts those that do
not parse whole as maths); meta.image_size is the first
image's [w, h]; the source `id` is kept as meta.source_id.
"""

from __future__ import annotations

from data_prep import common, fields, sources
from gpg_vl.data.record import Record

SOURCE = "geometry3k"


def to_record(row: dict, rid: str, ctx: common.Context) -> Record:
    answer = fields.require_text(row.get("answer"))
    problem = fields.question_part(row.get("problem"))
    images = [ctx.images.add_embedded(v) for v in row.get("images") or []]
    if not images:
        raise common.Skip("missing image", "empty `images` list")
    return ctx.record(rid, "math", images, problem, fields.math_gold(answer, ctx), source_id=row.get("id"))


def main(argv: list[str] | None = None) -> int:
    args = common.parser(__doc__, split="train").parse_args(argv)
    return common.run(sources.read_rows(args.src, args.split), to_record, args, source=SOURCE)


if __name__ == "__main__":
    raise SystemExit(main())
