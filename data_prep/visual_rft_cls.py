"""Visual-RFT few-shot classification sets (laolao77/ViRFT_CLS_*, saved with save_to_disk) -> classification records.

    python -m data_prep.visual_rft_cls --src /data/ViRFT_CLS_flower_4_shot --out /data/virft_flower

Source row: `image` (embedded), `problem` (the question followed by the R1 output-format
instruction), `solution` like "<answer>737-200</answer>".
Record: problem = the question part only (the trainer's template adds the format
instruction), answer = the label inside the answer tags. The name defaults to the
folder name in lower case: ViRFT_CLS_flower_4_shot -> ids "virft_cls_flower_4_shot-train-000000".
"""

from __future__ import annotations

from data_prep import common, fields, sources
from gpg_vl.data.record import Record


def to_record(row: dict, rid: str, ctx: common.Context) -> Record:
    label = fields.answer_text(row.get("solution"))
    problem = fields.question_part(row.get("problem"))
    image = ctx.images.add_embedded(row.get("image"))
    return ctx.record(rid, "classification", image, problem, label)


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__, split="train")
    p.add_argument("--name", help="source name for ids/meta (default: the --src folder name, lower case)")
    args = p.parse_args(argv)
    name = args.name or args.src.name.lower()
    return common.run(sources.read_rows(args.src, args.split), to_record, args, source=name)


if __name__ == "__main__":
    raise SystemExit(main())
