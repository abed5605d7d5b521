"""The one answer extractor and normaliser of the project (the eval package reuses them).

- `extract_answer(text, mode)`: which part of a completion is the answer.
- `normalize_label` / `label_match` (labels.py): classification labels, strict by default,
  because containment ("A or B or C" contains every label) is a known reward hack.
- `choice_letter` (choices.py): the option letter an answer commits to, or None.
- `parse_number`, `parse_count` (numbers.py), `math_equal` (mathequal.py) and
  `normalize_math` (notation.py, the one normaliser of math notation) are re-exported
  so callers need one import.

Everything here is linear in its (capped) input; no regex backtracks over the text.
"""

from __future__ import annotations

import string
from typing import Callable

from .choices import choice_letter
from .guard import MAX_ANSWER_CHARS, MAX_TEXT_CHARS, clip_text
from .labels import label_match, normalize_label
from .mathequal import gold_parses, math_equal
from .notation import normalize_math
from .numbers import numbers_equal, parse_count, parse_number

__all__ = ["extract_answer", "EXTRACT_MODES", "answer_tag", "last_boxed", "normalize_label",
           "label_match", "choice_letter", "parse_number", "parse_count", "numbers_equal",
           "math_equal", "gold_parses", "normalize_math"]


def answer_tag(text: str) -> str | None:
    """Contents of the last closed `<answer>...</answer>`, or None.

    Found with rfind, not a regex: `<answer>.*?</answer>` is quadratic on text with many
    unclosed tags.
    """
    end = text.rfind("</answer>")
    start = text.rfind("<answer>", 0, end) if end >= 0 else -1
    return text[start + len("<answer>"):end] if start >= 0 else None


def last_boxed(text: str) -> str | None:
    """Contents of the last `\\boxed{...}` with balanced braces, or None.

    Only MAX_ANSWER_CHARS after the opening brace are scanned: a longer box is no answer.
    """
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth = 0
    for k in range(start + len("\\boxed"), min(len(text), start + MAX_ANSWER_CHARS)):
        if text[k] == "{":
            depth += 1
        elif text[k] == "}":
            depth -= 1
            if depth == 0:
                return text[start + len("\\boxed{"):k]
    return None


def _auto(text: str) -> str:
    """Last <answer> contents (unwrapping a \\boxed{} inside), else last \\boxed{}, else all."""
    tagged = answer_tag(text)
    if tagged is not None:
        boxed = last_boxed(tagged)
        return (boxed if boxed is not None else tagged).strip()
    boxed = last_boxed(text)
    return (boxed if boxed is not None else text).strip()


def _first_word(text: str) -> str:
    """First whitespace-separated word of the completion, surrounding punctuation stripped."""
    words = text[:MAX_TEXT_CHARS].split(maxsplit=1)
    return words[0].strip(string.punctuation) if words else ""


EXTRACT_MODES: dict[str, Callable[[str], str]] = {
    "auto": _auto,
    "answer_tag": lambda text: (answer_tag(text) or "").strip(),
    "boxed": lambda text: (last_boxed(text) or "").strip(),
    "first_word": _first_word,
    "whole": str.strip,
}


def check_extract_mode(mode: str) -> None:
    """Fail early, naming the valid modes, for a mistyped `extract` option."""
    if mode not in EXTRACT_MODES:
        raise ValueError(f"unknown extract mode {mode!r}; known: {', '.join(EXTRACT_MODES)}")


def extract_answer(text: str, mode: str = "auto") -> str:
    """The answer part of a completion (see EXTRACT_MODES); "" for non-strings.

    Reads at most the last MAX_TEXT_CHARS characters of the completion (the first ones
    for "first_word") and returns at most the last MAX_ANSWER_CHARS of the answer.
    """
    check_extract_mode(mode)
    if not isinstance(text, str):
        return ""
    answer = EXTRACT_MODES[mode](text if mode == "first_word" else clip_text(text))
    return clip_text(answer, MAX_ANSWER_CHARS)
