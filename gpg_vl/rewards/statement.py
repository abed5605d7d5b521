"""The one value a short answer states: `stated_answer("The length is 8\\sqrt{2}.")`.

Models answer in sentences as often as in bare values: "There are 3 cubes.", "3 in
total", "2 + 1 = 3", "AB = 8\\sqrt{2}", "The answer is three.". A reward must find the
value in these, and must refuse what does not commit to one value: "either 40 or 140",
"3 or 4", "between 3 and 5", "about 7", "not 5", "at least 3", "3, 4". Peers hand the
whole sentence to math-verify, which takes the LAST number it sees, so "either 40 or 140"
scores for 140.

How, in order: number words become digits ("twenty-one" -> 21); "~3" and "3+" are
hedges; a justification after the value is dropped ("80°, because ...", "80° (since
...)"), and so is a breakdown whose numbers add up to it ("8 objects: 3 cubes, 2 spheres,
3 cylinders") and an echo ("3 (three)"); "X ≈ 13.86" keeps the exact X ("≈ 13.86" alone
is refused); a hedge word or symbol refuses the answer; after "the answer is" / "answer:"
/ "so" / "therefore" only the rest is read; after the last "=" only the right-hand side,
when the left is arithmetic or a name (`2 + 1 = 3`, `AB = 8\\sqrt{2}`, not `x^2 = 16`).
The rest is split into tokens in one linear pass; runs of maths (numbers, LaTeX commands,
single-letter variables, operators, with a trailing unit) are the candidate values.
Exactly one candidate, or several that are the same text, is the stated value; none or
several different ones give None.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .notation import normalize_math, rewrite_notation
from .units import UNIT_PATTERN

MAX_STATEMENT_CHARS = 600
"""A longer answer is reasoning, not a statement of a value: only its tail is read."""

_UNIT_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
               "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TEN_WORDS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_WORD_VALUE = {w: i for i, w in enumerate(_UNIT_WORDS)}
_WORD_VALUE.update({w: 10 * (i + 2) for i, w in enumerate(_TEN_WORDS)})
_SMALL = rf"(?:(?:{'|'.join(_TEN_WORDS)})(?:[\s-]+(?:{'|'.join(_UNIT_WORDS[1:10])}))?" \
         rf"|{'|'.join(_UNIT_WORDS)})"
_WORD_NUMBER = re.compile(rf"\b({_SMALL})(?:\s+hundred(?:\s+(?:and\s+)?({_SMALL}))?)?\b",
                          re.IGNORECASE)


def _small_value(phrase: str) -> int:
    """'twenty-one' -> 21, 'seven' -> 7."""
    return sum(_WORD_VALUE[w] for w in re.split(r"[\s-]+", phrase.lower()))


def _word_value(match: re.Match) -> str:
    head, tail = match.group(1), match.group(2)
    if "hundred" in match.group(0).lower():
        return str(100 * _small_value(head) + (_small_value(tail) if tail else 0))
    return str(_small_value(head))


def words_to_digits(text: str) -> str:
    """English number words up to 999 as digits: 'one hundred and five' -> '105'."""
    return _WORD_NUMBER.sub(_word_value, text)


_HEDGE_WORDS = ("or|either|neither|nor|maybe|perhaps|possibly|probably|likely|between|approximately"
                "|approx|about|around|roughly|nearly|almost|estimated|estimate|range|not|no|cannot"
                "|can't|unknown|unsure|unclear|least|most|more|less|fewer|than")
_HEDGE = re.compile(rf"\b(?:{_HEDGE_WORDS})\b|≈|±|≤|≥|≠|<|>|\?|\.\.\.|…"
                    r"|\\(?:approx|sim|pm|mp|leq?|geq?|neq|ne)(?![A-Za-z])", re.IGNORECASE)
_APPROX = re.compile(r"≈|\\approx(?![A-Za-z])")
_LEAD = re.compile(r"(?:final answer|the answer|answer|result)\s*(?:is|:|=|should be|would be)\s*"
                   r"|\b(?:so|therefore|thus|hence|overall|altogether)\b,?\s*", re.IGNORECASE)
_MARKUP = re.compile(r"\*\*|__|`|\\\(|\\\)|\\\[|\\\]|\\boxed\b")
_TOKEN = re.compile(rf"(?P<unit>(?<![A-Za-z]){UNIT_PATTERN})"
                    r"|(?P<cmd>\\[A-Za-z]+)|(?P<num>\d+(?:[.,]\d+)*)"
                    r"|(?P<word>[A-Za-z][A-Za-z'-]*)|(?P<op>[-+*/^_=(){}\[\]|])|(?P<other>\S)",
                    re.ASCII)
_MATH_WORDS = {"\\sqrt", "\\frac", "\\pi", "\\cdot", "\\times", "\\div", "\\infty"}
_ARTICLES = {"a", "A", "I"}


_NAME_AT_END = re.compile(r"(?:(?<![\w.}])[A-Za-z]{1,4}(?:_\{?\w{1,3}\}?)?|m?\s*∠\s*\w{1,4}|\\angle\s*\w{1,4}"
                          r"|\b(?:it|value|answer|length|area|perimeter|measure|total|sum|result))\s*$")


_COMMANDS = re.compile(r"\\(?:sqrt|frac|pi|cdot|times|div)(?![A-Za-z])")


def _names_a_value(left: str) -> bool:
    """Whether the left of the last "=" is arithmetic (`2 + 1`) or a name (`x`, `AB`,
    `m∠2`, "the length of AB"): then the right side is the stated value. Not when it is
    an expression in an unknown (`2x`, `x^2`): "x^2 = 16" does not state x = 16."""
    left = left.strip()
    if not left or "^" in left and re.search(r"[A-Za-z]\s*\^", left):
        return False
    if re.fullmatch(r"[\d\s.+\-*/^(){}\[\]]+", _COMMANDS.sub(" ", left)):
        return True  # arithmetic: "2 + 1", "8 \div 2", "\sqrt{16}"
    return _NAME_AT_END.search(left) is not None and not re.search(r"\d\s*[A-Za-z(]", left)


def _spans(s: str) -> list[str]:
    """Candidate values: runs of maths tokens, each with its trailing unit words."""
    spans, start, end, valued, last = [], -1, -1, False, ""
    for m in _TOKEN.finditer(s):
        kind, text = m.lastgroup, m.group(0)
        mathy = kind in ("num", "op") or (kind == "cmd" and text in _MATH_WORDS) \
            or (kind == "word" and len(text) == 1 and text not in _ARTICLES)
        if kind == "num" and last in ("num", "unit") and start >= 0:  # "3 3", "2 cm 3": two values
            spans.append(s[start:end])
            start, valued = -1, False
        last = kind
        if mathy or (kind == "unit" and valued):
            if start < 0:
                start, valued = m.start(), False
            end = m.end()
            valued = valued or kind == "num" or text in ("\\pi", "\\sqrt", "\\infty")
            continue
        if start >= 0 and valued:
            spans.append(s[start:end])
        start, valued = -1, False
    if start >= 0 and valued:
        spans.append(s[start:end])
    return [_trim(x) for x in spans]


def _trim(span: str) -> str:
    """Drop operators hanging at the ends and brackets left unbalanced by the cut."""
    span = span.strip().lstrip("=,+*/^_").rstrip("=,+-*/^_([{").strip()
    for left, right in ("()", "[]", "{}"):
        while span.startswith(left) and span.count(left) > span.count(right):
            span = span[1:].strip()
        while span.endswith(right) and span.count(right) > span.count(left):
            span = span[:-1].strip()
    return span


_EXPLAINER = re.compile(r"[,;(]?\s*\b(?:because|since|as|given|due to|from|using|by)\b"
                        r"|(?P<colon>(?<=[A-Za-z])(?:[:：]\s|\s*\())", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_ECHO = re.compile(r"\b(\d+(?:\.\d+)?)\s*\(\s*\1\s*\)")
_ROUGH = re.compile(r"(?:^|\s)~\s*\d|\d\s*\+(?!\s*[\d\\({.])")
"""A tilde before a number ("~3") or a plus after one ("3+") says "about" / "or more"."""
_VALUE = re.compile(r"\d|\\pi\b")


def _without_explanation(s: str) -> str:
    """"80°, because the angles sum to 180°" -> "80°", "8 objects: 3 cubes, ..." -> "8
    objects": a value, then its justification, or a breakdown whose numbers add up to it."""
    for m in _EXPLAINER.finditer(s):
        if not _VALUE.search(s, 0, m.start()):
            continue
        if m.group("colon") and not _adds_up(s[:m.start()], s[m.end():]):
            return s  # "3 cubes: 1 red, 2 blue; plus 2 spheres" is no breakdown of 3
        return s[:m.start()]
    return s


def _adds_up(head: str, breakdown: str) -> bool:
    """Whether the numbers of a breakdown sum to the one number before it (or it has none)."""
    total, parts = _NUMBER.findall(head), _NUMBER.findall(breakdown)
    return len(total) == 1 and (not parts or abs(sum(map(float, parts)) - float(total[0])) < 1e-9)


def hedged(text: str) -> bool:
    """Whether `text` hedges or approximates anywhere ("or", "about", "~3", "3+", "?")."""
    return _hedged(text[-MAX_STATEMENT_CHARS:])


@lru_cache(maxsize=8192)
def _hedged(text: str) -> bool:
    s = _MARKUP.sub(" ", text)
    return bool(_ROUGH.search(s) or _HEDGE.search(rewrite_notation(s)))


def stated_answer(text: str, split_equals: bool = True) -> str | None:
    """The one value `text` states, or None (module docstring). `split_equals=False` keeps
    an equation whole (for golds that are equations)."""
    if not isinstance(text, str):
        return None
    return _stated(text[-MAX_STATEMENT_CHARS:], split_equals)


@lru_cache(maxsize=8192)
def _stated(text: str, split_equals: bool) -> str | None:
    """Cached on the (capped) tail: a group's completions often say the same thing."""
    s = _MARKUP.sub(" ", words_to_digits(text))
    if _ROUGH.search(s):
        return None
    s = _without_explanation(_ECHO.sub(r"\1", rewrite_notation(s)))
    approx = _APPROX.search(s)
    if approx and s[:approx.start()].strip():  # "8\sqrt{3} ≈ 13.86": the exact value stated
        s = s[:approx.start()]
    if _HEDGE.search(s):
        return None
    lead = None
    for lead in _LEAD.finditer(s):
        pass
    if lead is not None:
        s = s[lead.end():]
    if split_equals and re.search(r"=[^=]*[,;][^=]*=", s):
        return None  # "x = 3, x = 5": two values
    if split_equals and "=" in s:
        left, _, s = s.rpartition("=")
        if not _names_a_value(left.rpartition("=")[2]):
            return None
    spans = _spans(s)
    if not spans:
        return None
    distinct = {normalize_math(x).replace(" ", "") for x in spans}
    return spans[-1] if len(distinct) == 1 else None
