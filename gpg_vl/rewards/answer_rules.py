"""Answer rewards: `answer_match` (one rule for choice, classification, math, count) and
`count`. Both score 1.0 for a correct answer and 0.0 otherwise.

`answer_match` reads the answer with `extract_answer(text, extract)` and dispatches on the
record:

| record                              | correct when                                          |
| ----------------------------------- | ----------------------------------------------------- |
| `choices` set (any task)            | `choice_letter` of the answer == the gold letter      |
|                                     | (gold: a letter `B`/`(B)` or an option's text)        |
| task "classification"               | `label_match(answer, gold, mode, synonyms)`           |
| task "math"                         | `math_equal` (number within rel_tol / meta precision, |
|                                     | text, then math-verify under a deadline)              |
| task "count"                        | `parse_count(answer) == gold`                         |
| any other task                      | number answers as "math", the rest as labels          |

When a record has choices but its gold answer is no option, the task row applies.

A math gold that is not whole math after normalising (`mathequal.gold_parses`) is
compared as normalised text only, never by a prefix math-verify happens to read; each
such comparison is counted in `answer_match.counters["unparsed_gold"]`, which the stack
logs as `reward/answer_match_unparsed_gold` (the fraction of the batch).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable

from .answers import (check_extract_mode, choice_letter, extract_answer, gold_parses,
                      label_match, math_equal, parse_count)
from .context import RewardContext
from .registry import register_reward

MATCH_MODES = ("strict", "contains")


def _precision(record: Any) -> int | None:
    value = record.meta.get("precision") if isinstance(record.meta, dict) else None
    return int(value) if isinstance(value, (int, float)) and 0 <= value <= 12 else None


UNPARSED_GOLD = Counter()
"""Events the stack logs for answer_match (see module docstring); attached to the rule."""


def _match_math(pred: str, record: Any, opts: dict) -> bool:
    if not gold_parses(str(record.answer)):
        UNPARSED_GOLD["unparsed_gold"] += 1
    return math_equal(pred, record.answer, opts["rel_tol"], _precision(record))


def _match_label(pred: str, record: Any, opts: dict) -> bool:
    return label_match(pred, str(record.answer), opts["mode"], opts["synonyms"])


def _gold_count(answer: Any) -> int | None:
    if isinstance(answer, bool):
        return None
    return answer if isinstance(answer, int) else parse_count(str(answer))


def _match_count(pred: str, record: Any, opts: dict) -> bool:
    gold = _gold_count(record.answer)
    return gold is not None and parse_count(pred) == gold


_BY_TASK: dict[str, Callable[[str, Any, dict], bool]] = {
    "math": _match_math,
    "classification": _match_label,
    "count": _match_count,
}


def _match(pred: str, record: Any, opts: dict) -> bool:
    if record.choices:
        gold = choice_letter(str(record.answer), record.choices)
        if gold is not None:
            return choice_letter(pred, record.choices) == gold
    matcher = _BY_TASK.get(record.task)
    if matcher is None:
        numeric = isinstance(record.answer, (int, float)) and not isinstance(record.answer, bool)
        matcher = _match_math if numeric else _match_label
    return matcher(pred, record, opts)


@register_reward("answer_match")
def answer_match(completions: list[str], samples: list[Any], ctx: RewardContext, *,
                 extract: str = "auto", mode: str = "strict",
                 synonyms: dict[str, list[str]] | None = None,
                 rel_tol: float = 1e-6) -> list[float]:
    """1.0 when the extracted answer matches the record's answer (table in module doc).

    extract: "auto" | "answer_tag" | "boxed" | "first_word" | "whole" (answers.EXTRACT_MODES).
    mode: label matching, "strict" (default) or "contains" (exploitable; on request only).
    synonyms: {label: [other names]} accepted as that label.
    rel_tol: relative tolerance for numbers when the record gives no "precision".
    """
    check_extract_mode(extract)
    if mode not in MATCH_MODES:
        raise ValueError(f"unknown answer_match mode {mode!r}; known: {', '.join(MATCH_MODES)}")
    if synonyms is not None and not isinstance(synonyms, dict):
        raise ValueError("answer_match synonyms must be a {label: [names]} mapping")
    opts = {"mode": mode, "synonyms": synonyms, "rel_tol": float(rel_tol)}
    return [float(_match(extract_answer(text, extract), record, opts))
            for text, record in zip(completions, samples)]


answer_match.counters = UNPARSED_GOLD


@register_reward("count")
def count_reward(completions: list[str], samples: list[Any], ctx: RewardContext, *,
                 extract: str = "auto") -> list[float]:
    """1.0 when the answer states exactly the record's count (digits or words)."""
    check_extract_mode(extract)
    return [float(_match_count(extract_answer(text, extract), record, {}))
            for text, record in zip(completions, samples)]
