"""lmms-lab RefCOCO / RefCOCO+ / RefCOCOg (parquet) -> grounding records.

    python -m data_prep.refcoco --src /data/lmms-lab-RefCOCO --out /data/refcoco --split val
    python -m data_prep.refcoco --src /data/lmms-lab-RefCOCOplus --out /data/refcocop --name refcocop --split testA

Source row: `question_id`, `image` (embedded), `answer` (list of referring expressions),
`bbox` [x, y, w, h] in original pixels, `file_name`, ...
One record per referring EXPRESSION (a row with three expressions gives ids
`<name>-<split>-<row>-0..2`): every expression is a separate question with the same box;
`--per question` keeps only the first expression of each row (one record per question_id).
The answer is [x1, y1, x2, y2] in original pixels; meta.image_size is [w, h].
"""

from __future__ import annotations

from data_prep import common, fields, sources
from gpg_vl.data.record import Record


def to_records(row: dict, rid: str, ctx: common.Context) -> list[Record]:
    expressions = _expressions(row.get("answer"))
    if ctx.args.per == "question":
        expressions = expressions[:1]
    image = ctx.images.add_embedded(row.get("image"))
    box = fields.fit_box(fields.xywh_to_xyxy(row.get("bbox")), image.size)
    return [ctx.record(f"{rid}-{k}", "grounding", image, fields.rec_problem(expr), box,
                       question_id=row.get("question_id"), file_name=row.get("file_name"), expression=expr)
            for k, expr in enumerate(expressions)]


def _expressions(answer) -> list[str]:
    """The row's distinct, non-empty expressions in order (a bare string counts as one)."""
    items = [answer] if isinstance(answer, str) else list(answer or [])
    unique = list(dict.fromkeys(str(a).strip() for a in items if a is not None and str(a).strip()))
    if not unique:
        raise common.Skip("missing answer", "no referring expression")
    return unique


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__, split="val")
    p.add_argument("--name", default="refcoco", help="source name for ids/meta: refcoco, refcocop, refcocog")
    p.add_argument("--per", choices=["expression", "question"], default="expression",
                   help="one record per referring expression (default) or per question_id")
    args = p.parse_args(argv)
    return common.run(sources.read_rows(args.src, args.split), to_records, args, source=args.name)


if __name__ == "__main__":
    raise SystemExit(main())
