"""The option letter a multiple-choice answer commits to, or None.

Models answer a choice question as `B`, `(B)`, `B. 102`, `**B**`, `B\\n\\nBecause ...`,
`B - 3`, `B, three chairs`, `I choose B`, `B is correct`, `the answer is b`, or with the
option's text ("102"). All of these commit to B. What does not commit scores 0: hedges
and lists (`A or D`, `A, B, C, D`, `(A) (B)`), negations (`not B`, `B is wrong`), a letter
whose attached text is another option's (`B. 97` when 97 is A), and letters beyond the
choices (`E` of four). An answer with no letter may name an option by its text: exactly,
by the one value it states ("There are 2 chairs." for option "2"), or in a sentence that
names that option and nothing else ("The lamp is on the left." for "left").

Where letters are looked for, so that the points A, B, C of a geometry explanation never
count, strongest evidence first (the first tier that finds a letter decides): the opening
token of the answer (a letter followed by an end, punctuation, a dash, a line break,
"is/because ...", or its own option text); letters after "answer (is)" / "答案是"; letters
after "option / choice / choose / select / pick / it is", parenthesised capitals `(C)`,
and "C is correct"; last, a lone capital ending a short answer ("So B."). Negated letters
are dropped in every tier.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache

from .guard import MAX_ANSWER_CHARS
from .labels import label_match, normalize_label
from .notation import normalize_math
from .statement import stated_answer

_MARKUP = re.compile(r"\*\*|__|`|\$|\\text\{|\\textbf\{|\\mathrm\{|\\boxed\{|[{}]|^#+\s*")
_LEAD = re.compile(r"^\s*(?:(?:the\s+)?(?:final\s+|correct\s+)?(?:answer|option|choice)\s*(?:is)?\s*[:：]?\s*)",
                   re.IGNORECASE)
_OPENING = re.compile(r"\s*(?:\(([A-Za-z])\)|\[([A-Za-z])\]|([A-Za-z]))(?![A-Za-z0-9])")
_LIST_NEXT = re.compile(r"\s*(?:,|/|&|\bor\b|\band\b|\bvs\.?|\n)\s*\(?[A-Z]\)?(?![A-Za-z])")
_COPULA = re.compile(r"\s+(?:is\s+(?:the\s+)?(?:correct|right|answer|best|true)|seems|would|should|"
                     r"must|appears|looks|because|since|as|which|fits|matches|corresponds)\b")
_ANSWER_PHRASE = re.compile(r"(?i:(?:\banswer|答案|选项|选择|选)(?:\s*(?:is|would be|should be|must be|=|是|为))?)"
                            r"\s*[:：]?\s*[(\[]?([A-Za-z])[)\]]?(?![A-Za-z0-9])(\s+[a-z]+)?")
_PHRASE = re.compile(r"(?i:\b(?:option|choice|choose|chose|select|selected|pick|picked|"
                     r"go with|letter|it|this|that|it's|must be|should be|would be))\s*(?i:is|would be|should be|must be|=)?\s*[:：]?\s*"
                     r"(?i:option\s*)?[(\[]?([A-Za-z])[)\]]?(?![A-Za-z0-9])(\s+[a-z]+)?")
_PAREN = re.compile(r"\(([A-Z])\)")
_IS_RIGHT = re.compile(r"(?<![A-Za-z(])\(?([A-Z])\)?\s+is\s+(?:the\s+)?(?:correct|right|answer|best)\b")
_NEGATED = re.compile(r"(?i:\b(?:not|isn't|except|never|rather than|instead of|excluding|eliminate|neither|nor)"
                      r"\s+(?:option\s+|choice\s+|answer\s+)?)[(\[]?([A-Z])[)\]]?(?![A-Za-z])"
                      r"(?:\s*(?:,|/|\bor\b|\band\b|\bnor\b)\s*[(\[]?[A-Z][)\]]?(?![A-Za-z]))*"
                      r"|(?<![A-Za-z(])\(?([A-Z])\)?\s+(?:is|seems)\s+(?:not\b|wrong|incorrect|false)")
_FINAL = re.compile(r"(?:^|[\s,:])\(?([A-Z])\)?\s*[.!]?\s*$")
MAX_SHORT_CHARS = 60
_UNSURE = re.compile(r"(?i:\b(?:or|not|nor|no|either|neither|maybe|perhaps|possibly|might|could)\b)|\?")
"""A short answer ending in a lone capital ("Based on the chart, B.") commits to it."""
_MARKERS = re.compile(r"(?:^|\s)[(\[]?([A-Z])[)\].:](?=\s|$)")
_LETTERS = re.compile(r"(?<![A-Za-z])[A-Z](?![A-Za-z])")
_FILLER_AFTER = {"because", "since", "as", "which", "is", "option", "choice", "and", "with", "so", "for"}


def _clean(text: str) -> str:
    """Markup dropped, whitespace runs collapsed (one line break kept): the patterns
    below then never meet long runs of spaces, so they stay linear."""
    text = _MARKUP.sub(" ", text[-MAX_ANSWER_CHARS:])
    return _RUNS.sub(lambda m: "\n" if "\n" in m.group(0) else " ", text).strip()


_RUNS = re.compile(r"\s+")
_SEPARATOR = re.compile(r"^\s*[.:)\]\-–—,]")
_COMMITS = re.compile(r"\s*(?:[.:)\],;：。，]|-\s|–|—|[\u4e00-\u9fff])")


@lru_cache(maxsize=4096)
def _norm(text: str) -> str:
    """Option text for comparison (cached: the same options come with every sample)."""
    return normalize_label(text)


def _opening(s: str, choices: list[str] | None) -> tuple[str | None, bool]:
    """(letter the answer opens with, whether it opens a list of letters = a hedge)."""
    m = _OPENING.match(s)
    if not m:
        return None, False
    letter = m.group(1) or m.group(2) or m.group(3)
    bracketed = m.group(3) is None
    rest = s[m.end():]
    if _LIST_NEXT.match(rest):
        return None, True
    texts = [_norm(c) for c in choices or []]
    after = _norm(_SEPARATOR.sub("", rest))
    if after and after in texts and texts.index(after) != string.ascii_uppercase.find(letter.upper()):
        return None, True  # "B. 97" with 97 the text of A: two different answers
    if not rest.strip() or rest[:1] == "\n" or _COMMITS.match(rest):
        if letter.islower() and rest.strip(" .:)\n") and not bracketed:
            return None, False  # "a. ..." / "b) ..." lower-case prose openings
        return letter.upper(), False
    if letter.isupper() and letter != "I" and (_COPULA.match(rest) or (after and after in texts)):
        return letter, False
    return None, False


_HEDGED = {"A", "B"}
"""Stands for "several letters": a phrase followed by a list ("the answer is A, B")."""


def _phrase_letters(s: str, phrase: re.Pattern) -> set[str]:
    letters = set()
    for m in phrase.finditer(s):
        letter, next_word = m.group(1), (m.group(2) or "").strip()
        if next_word and next_word not in _FILLER_AFTER:
            continue  # "the answer is a right angle"
        after = m.end(1) + (1 if s[m.end(1):m.end(1) + 1] in ")]" else 0)
        if _LIST_NEXT.match(s, after):
            return _HEDGED
        letters.add(letter.upper())
    return letters


def _mentioned(s: str, opening: str | None, negated: set[str]) -> set[str]:
    """Committed letters, strongest evidence first: the opening letter; else letters after
    "answer (is)"; else after option / choose / it is, in brackets, or "X is correct"."""
    if opening and opening not in negated:
        return {opening}
    letters = _phrase_letters(s, _ANSWER_PHRASE) - negated
    if not letters:
        letters = _phrase_letters(s, _PHRASE) | set(_PAREN.findall(s)) | set(_IS_RIGHT.findall(s))
        letters -= negated
    if not letters and len(s) <= MAX_SHORT_CHARS and not _UNSURE.search(s):
        final = set(_FINAL.findall(s)) - negated
        if final and set(_LETTERS.findall(s)) - {"I"} == final:  # not "A B C D"
            letters = final
    return letters


def _by_option_text(s: str, choices: list[str], valid: str) -> set[str]:
    """Letters of the options the answer names by their text: equal text, else the one
    value it states ("There are 2 chairs." for option "2"), else a sentence naming one
    option strictly ("The lamp is on the left." for "left"; labels.label_match)."""
    norm = _norm(s)
    letters = {valid[k] for k, c in enumerate(choices) if _norm(c) == norm}
    if letters:
        return letters
    stated = stated_answer(s)
    if stated is not None:
        value = normalize_math(stated)
        letters = {valid[k] for k, c in enumerate(choices) if normalize_math(c) == value}
        if letters:
            return letters
    return {valid[k] for k, c in enumerate(choices) if c.strip() and label_match(s, c)}


def choice_letter(text: str, choices: list[str] | None = None) -> str | None:
    """The option letter `text` commits to, or None (see module docstring)."""
    if not isinstance(text, str):
        return None
    s = _LEAD.sub("", _clean(text))
    valid = string.ascii_uppercase[:len(choices)] if choices else string.ascii_uppercase
    opening, hedge = _opening(s, choices)
    if hedge or len(set(_MARKERS.findall(s))) > 1:
        return None  # "A) 97 B) 102": the options listed, not one chosen
    negated = {letter for m in _NEGATED.finditer(s) for letter in _LETTERS.findall(m.group(0))}
    letters = _mentioned(s, opening, negated)
    if not letters and choices:
        letters = _by_option_text(s, choices, valid)
    return letters.pop() if len(letters) == 1 and next(iter(letters)) in valid else None
