"""Field conversions several datasets share: boxes, answer tags, counts, lettered options.

Each helper raises `Skip` with a summary reason when the field cannot be used, so the
converters stay straight-line code.
"""

from __future__ import annotations

import math
import re
import string
from typing import Any, Sequence

from data_prep.common import Context, Skip
from gpg_vl.data.tasks import BOX_TOLERANCE_PX, BoxError
from gpg_vl.data.tasks import fit_box as _fit_box
from gpg_vl.rewards.answers import gold_parses

UNPARSED_GOLD = "golds that are not whole maths after normalising (scored as normalised text)"

# The VLM-R1 REC wording, so records from lmms-lab parquet and VLM-R1 JSON read the same.
REC_TEMPLATE = "Please provide the bounding box coordinate of the region this sentence describes: {expr}."
LETTERS = string.ascii_uppercase

_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.S | re.I)
# Peers append their output-format instruction to the question; the trainer's prompt
# template adds ours, so records keep only the question.
_FORMAT_INSTRUCTION = re.compile(r"\s*(?:first\s+)?output the thinking process\b.*$", re.S | re.I)
# geometry3k problems start with "<image>"; the trainer places image tokens itself.
_IMAGE_PLACEHOLDER = re.compile(r"\s*<image>\s*", re.I)


def rec_problem(expr: Any) -> str:
    """The grounding prompt for one referring expression."""
    text = require_text(expr, "referring expression").rstrip(" .")
    return REC_TEMPLATE.format(expr=text)


def require_text(value: Any, what: str = "answer") -> str:
    """A non-empty string, or `Skip("missing answer")` naming what was missing."""
    if value is None or not str(value).strip():
        raise Skip("missing answer", f"{what} is {value!r}")
    return str(value).strip()


def answer_text(solution: Any) -> str:
    """`<answer> 3 </answer>` -> "3"; a solution without tags is taken whole."""
    text = require_text(solution, "solution")
    m = _ANSWER_TAG.search(text)
    return require_text(m.group(1) if m else text, "solution")


def math_gold(answer: str, ctx: Context) -> str:
    """The gold as published; counted in the summary when the reward cannot parse it whole
    (it is then compared as normalised text, never by a prefix: gpg_vl.rewards.mathequal)."""
    if not gold_parses(answer):
        ctx.notes[UNPARSED_GOLD] += 1
    return answer


def question_part(problem: Any) -> str:
    """The question alone: without `<image>` placeholders or a trailing "Output the thinking process..." instruction."""
    text = _IMAGE_PLACEHOLDER.sub(" ", require_text(problem, "problem"))
    text = _FORMAT_INSTRUCTION.sub("", text)
    if not text.strip():
        raise Skip("missing question", f"problem {problem!r} holds only the format instruction")
    return text.strip()


def count_answer(value: Any) -> int:
    """A count from an int, "4", or "<answer> 4 </answer>"; anything else skips the row."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = answer_text(value)
    try:
        number = float(text)
    except ValueError:
        raise Skip("bad answer", f"count {text!r} is not a number") from None
    if not number.is_integer() or number < 0:
        raise Skip("bad answer", f"count {text!r} is not a whole number")
    return int(number)


def xywh_to_xyxy(box: Any) -> list[float]:
    """COCO [x, y, w, h] -> [x1, y1, x2, y2], same pixel space."""
    x, y, w, h = _four_numbers(box)
    return [x, y, x + w, y + h]


def fit_box(box: Any, size: tuple[int, int], tol: float = BOX_TOLERANCE_PX) -> list[float]:
    """Check an [x1, y1, x2, y2] pixel box against the image (w, h): clip tiny overshoots, skip real ones.

    The geometry is training's own check (gpg_vl.data.tasks.fit_box), so a converted box always loads.
    """
    try:
        return _fit_box(list(_four_numbers(box)), size, tol)
    except BoxError as err:
        raise Skip(err.reason, err.detail) from None


def _four_numbers(box: Any) -> tuple[float, float, float, float]:
    if box is None:
        raise Skip("missing answer", "box is None")
    try:
        values = [float(v) for v in box]
    except (TypeError, ValueError):
        raise Skip("bad answer", f"box {box!r} is not a list of numbers") from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise Skip("bad answer", f"box {box!r} is not four finite numbers")
    return values[0], values[1], values[2], values[3]


def option_letter(index: int) -> str:
    """0 -> "A"; more than 26 options cannot be answered with one letter."""
    if not 0 <= index < len(LETTERS):
        raise Skip("too many options", f"option {index + 1} has no letter")
    return LETTERS[index]


def choice_problem(question: str, options: Sequence[str]) -> str:
    """The question followed by its lettered options, so the record is self-contained."""
    lines = [f"({option_letter(i)}) {opt}" for i, opt in enumerate(options)]
    return "\n".join([question.strip(), "Choices:", *lines])


def letter_of(answer: Any, options: Sequence[str]) -> str:
    """The letter of the option whose text is `answer` (exact match after trimming)."""
    text = require_text(answer)
    for i, opt in enumerate(options):
        if str(opt).strip() == text:
            return option_letter(i)
    raise Skip("answer not among options", f"{text!r} not in {list(options)!r}")
