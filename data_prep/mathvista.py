"""MathVista (AI4Math/MathVista, parquet: testmini / test) -> choice and math records.

    python -m data_prep.mathvista --src /data/MathVista --out /data/mathvista --split testmini

Source row: `pid`, `question`, `decoded_image` (embedded), `choices` (list or null),
`answer` (for multiple choice the option TEXT), `question_type` (multi_choice | free_form),
`answer_type`, `precision`, `unit`, `query`, `metadata`.
multi_choice -> task "choice": answer = the letter of the option whose text is the
answer, choices = option texts, problem = question + lettered options.
free_form -> task "math": answer = the answer string, problem = question (+ "(Unit: cm)").
meta keeps question_type, answer_type, precision, unit, the original answer text
(answer_text), pid, the ready-made `query` prompt and the `metadata` struct.
The test split publishes no answers: its rows are all skipped as "missing answer".
"""

from __future__ import annotations

from data_prep import common, fields, sources
from gpg_vl.data.record import Record

SOURCE = "mathvista"


def to_record(row: dict, rid: str, ctx: common.Context) -> Record:
    answer = fields.require_text(row.get("answer"))
    question = fields.question_part(row.get("question"))
    choices = [str(c).strip() for c in row.get("choices") or []]
    multi_choice = row.get("question_type") == "multi_choice"
    letter = fields.letter_of(answer, choices) if multi_choice else None
    image = ctx.images.add_embedded(row.get("decoded_image"))
    meta = dict(pid=row.get("pid"), question_type=row.get("question_type"), answer_type=row.get("answer_type"),
                precision=row.get("precision"), unit=row.get("unit"), answer_text=answer, query=row.get("query"),
                metadata=row.get("metadata"))
    if multi_choice:
        return ctx.record(rid, "choice", image, fields.choice_problem(question, choices), letter, choices, **meta)
    unit = row.get("unit")
    problem = f"{question} (Unit: {unit})" if unit else question
    return ctx.record(rid, "math", image, problem, answer, **meta)


def main(argv: list[str] | None = None) -> int:
    args = common.parser(__doc__, split="testmini").parse_args(argv)
    return common.run(sources.read_rows(args.src, args.split), to_record, args, source=SOURCE)


if __name__ == "__main__":
    raise SystemExit(main())
