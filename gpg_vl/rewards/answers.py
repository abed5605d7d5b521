"""The one answer extractor and normaliser of the project (the eval package reuses them).

- `extract_answer(text, mode)`: which part of a completion is the answer.
- `normalize_label` / `label_match`: classification labels, strict by default, because
  containment ("A or B or C" contains every label) is a known reward hack.
- `choice_letter`: the option letter a completion commits to, or None if it hedges.
- `parse_number`, `parse_count`, `math_equal` are re-exported from numbers.py and
  mathequal.py so callers need one import.

Everything here is linear in its (capped) input; no regex backtracks over the text.
"""

from __future__ import annotations

import re
import string
from typing import Callable

from .guard import MAX_ANSWER_CHARS, MAX_TEXT_CHARS, clip_text
from .mathequal import math_equal
from .numbers import numbers_equal, parse_count, parse_number

__all__ = ["extract_answer", "EXTRACT_MODES", "answer_tag", "last_boxed", "normalize_label",
           "label_match", "choice_letter", "parse_number", "parse_count", "numbers_equal",
           "math_equal"]


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


_LABEL_DROP = re.compile(r"[\s_]+")


def normalize_label(label: str) -> str:
    """Lower-case, drop whitespace and underscores, strip surrounding punctuation.

    'Boeing_737-200 ' -> 'boeing737-200'; '(Red).' -> 'red'.
    """
    return _LABEL_DROP.sub("", str(label).lower()).strip(string.punctuation)


def label_match(pred: str, gold: str, mode: str = "strict",
                synonyms: dict[str, list[str]] | None = None) -> bool:
    """Whether a predicted label names the gold label (or one of its synonyms).

    strict: equal after `normalize_label`. contains: either contains the other, as the
    Visual-RFT reference does; exploitable, so only on request.
    """
    p = normalize_label(pred)
    if not p:
        return False
    golds = {normalize_label(gold)}
    for key, alts in (synonyms or {}).items():
        if normalize_label(key) in golds:
            golds.update(normalize_label(a) for a in alts)
    if mode == "contains":
        return any(g and (g in p or p in g) for g in golds)
    return p in golds


_LETTER_ALONE = re.compile(r"\(([A-Za-z])\)(?:\s.*)?|([A-Za-z])(?:[.:)](?:\s.*)?)?", re.S)
_LETTER_PHRASE = re.compile(r"(?i:answer|option|choice)\s*(?:is\s*)?:?\s*\(?([A-Z])\)?(?![A-Za-z])")
_LETTER_PAREN = re.compile(r"\(([A-Z])\)")


def choice_letter(text: str, choices: list[str] | None = None) -> str | None:
    """The option letter `text` commits to, or None.

    Candidates: the text opens with a letter (`B`, `(B)`, `B.`, `B) 102`, `(B) 102`); the
    text equals an option's text; letters after "answer/option/choice (is)"; parenthesised
    letters. It commits when the candidates name exactly one letter; several distinct
    letters ("A or B", "(A) (B)") are hedging and give None. Letters beyond the number of
    choices are ignored.
    """
    text = clip_text(text).strip()
    valid = string.ascii_uppercase[:len(choices)] if choices else string.ascii_uppercase
    letters = {m for p in (_LETTER_PHRASE, _LETTER_PAREN) for m in p.findall(text) if m in valid}
    alone = _LETTER_ALONE.fullmatch(text)
    if alone:
        letter = (alone.group(1) or alone.group(2)).upper()
        if letter in valid and (alone.group(1) or alone.group(2).isupper() or len(text) <= 2):
            letters.add(letter)
    if not letters and choices:
        norm = normalize_label(text)
        letters = {valid[k] for k, c in enumerate(choices) if normalize_label(c) == norm}
    return letters.pop() if len(letters) == 1 else None
