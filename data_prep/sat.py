"""SAT (array/SAT, spatial multiple choice; VisualThinker-R1-Zero's CV-Bench training set) -> choice records.

    python -m data_prep.sat --src /data/SAT --out /data/sat --split train --first 15000 --seed 42

Source row: `image_bytes` (list of one or two embedded images), `question`, `answers`
(option texts), `correct_answer` (option text), `question_type`.
As in the paper's runs: multi-image rows are skipped, the first N usable rows are kept
(`--first`, default 15000, counting written records), and the options are shuffled.
The shuffle of a row is seeded by --seed and the record id, so it does not depend on
which other rows were kept. Record: choices = shuffled option texts, answer = the letter
of the correct one, problem = question + lettered options.
"""

from __future__ import annotations

import random

from data_prep import common, fields, sources
from gpg_vl.data.record import Record

SOURCE = "sat"


def to_record(row: dict, rid: str, ctx: common.Context) -> Record:
    images = row.get("image_bytes") or []
    if len(images) != 1:
        raise common.Skip("not single-image", f"{len(images)} images")
    options = [str(o).strip() for o in row.get("answers") or []]
    random.Random(f"{ctx.args.seed}:{rid}").shuffle(options)
    answer = fields.letter_of(row.get("correct_answer"), options)
    question = fields.require_text(row.get("question"), "question")
    image = ctx.images.add_embedded(images[0])
    return ctx.record(rid, "choice", image, fields.choice_problem(question, options), answer, options,
                      question_type=row.get("question_type"))


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__, split="train")
    p.add_argument("--first", type=int, default=15000, help="keep the first N usable rows (default 15000)")
    p.add_argument("--seed", type=int, default=42, help="seed of the option shuffle")
    args = p.parse_args(argv)
    return common.run(sources.read_rows(args.src, args.split), to_record, args, source=SOURCE, limit=args.first)


if __name__ == "__main__":
    raise SystemExit(main())
