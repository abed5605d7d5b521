"""Reading numbers and counts out of short answer strings, strictly.

`parse_number` accepts ONE number, optionally decorated the way models write it: `$`,
thousands commas, a degree sign or `^\\circ`, a percent sign, a trailing unit word
(`12 cm`, `5 apples`), a leading `x =`, or a simple fraction (`3/4`, `\\frac{3}{4}`).
Anything else ("3 or 4", "about 7", "1 2 3") is not a number: no partial credit for
hedging. Only ASCII digits are read.

`parse_count` accepts an integer written as digits or English words ("three",
"twenty-one", "one hundred and five"), possibly inside a sentence ("There are 3 cubes.");
if the answer mentions more than one distinct count, it is ambiguous and gives None.
"""

from __future__ import annotations

import math
import re

MAX_NUMBER_CHARS = 64
"""A number answer longer than this is not a number answer."""
MAX_COUNT_CHARS = 2_000
MAX_COUNT = 10**9

NUMBER_PATTERN = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d{1,4})?"
"""A decimal number as models write it (sign, decimals, short exponent); ASCII digits."""
_NUM = NUMBER_PATTERN
_TEXT = re.compile(r"\\(?:text|mathrm|mbox|textbf)\s*\{([^{}]*)\}")
_DECORATION = re.compile(r"\$|\\[,;!: ]|~|\\left|\\right|\\%|%|°|\^\s*\{?\s*\\circ\s*\}?"
                         r"|\\circ|\\degree")


def strip_decorations(text: str) -> str:
    """Remove presentation-only markup: `$`, LaTeX spacing, `\\left`/`\\right`, `~`,
    degree marks and percent signs ("$45^{\\circ}$" -> "45")."""
    return _DECORATION.sub("", text)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?:\D|$))")
_LEAD = re.compile(r"^[a-zA-Z]\s*=\s*")
_PLAIN = re.compile(rf"({_NUM})\s*(?:([a-zA-Z]{{1,12}})(?:\^?\{{?[23]\}}?)?\.?)?", re.ASCII)
_NOT_UNITS = set("pi sqrt ln log exp sin cos tan theta alpha beta gamma sigma mu lambda phi "
                 "or and to e i j x y z n a b c d p q r t u v w".split())
"""Letters after a number that make it an expression ("12 pi", "5x"), not a unit."""
_FRACTION = re.compile(rf"(-?)\\[dt]?frac\{{({_NUM})\}}\{{({_NUM})\}}|({_NUM})\s*/\s*({_NUM})",
                       re.ASCII)


def parse_number(text: str) -> float | None:
    """The single finite number `text` states, or None (see module docstring)."""
    if not isinstance(text, str) or len(text) > MAX_NUMBER_CHARS:
        return None
    s = strip_decorations(_TEXT.sub(r" \1", text)).strip().rstrip(".")
    s = _LEAD.sub("", _THOUSANDS.sub("", s)).strip()
    value = None
    plain = _PLAIN.fullmatch(s)
    if plain:
        if plain.group(2) and plain.group(2).lower() in _NOT_UNITS:
            return None
        value = float(plain.group(1))
    else:
        frac = _FRACTION.fullmatch(s.replace(" ", ""))
        if frac:
            sign, a, b = (frac.group(1), frac.group(2), frac.group(3)) if frac.group(2) \
                else ("", frac.group(4), frac.group(5))
            den = float(b)
            value = (-1.0 if sign else 1.0) * float(a) / den if den != 0 else None
    return value if value is not None and math.isfinite(value) else None


def numbers_equal(a: float, b: float, rel_tol: float = 1e-6, precision: int | None = None) -> bool:
    """Equal within `rel_tol` (relative, with a 1e-9 absolute floor), or after rounding
    both to `precision` decimals when the record gives one (MathVista's `precision`)."""
    if precision is not None:
        return round(a, precision) == round(b, precision)
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-9)


_UNIT_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
               "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TEN_WORDS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_WORD_VALUE = {w: i for i, w in enumerate(_UNIT_WORDS)}
_WORD_VALUE.update({w: 10 * (i + 2) for i, w in enumerate(_TEN_WORDS)})
_SMALL = rf"(?:(?:{'|'.join(_TEN_WORDS)})(?:[\s-]+(?:{'|'.join(_UNIT_WORDS[1:10])}))?" \
         rf"|{'|'.join(_UNIT_WORDS)})"
_WORD_NUMBER = re.compile(rf"\b({_SMALL})(?:\s+hundred(?:\s+(?:and\s+)?({_SMALL}))?)?\b")
_INTEGER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])", re.ASCII)


def _small_value(phrase: str) -> int:
    """'twenty-one' -> 21, 'seven' -> 7."""
    return sum(_WORD_VALUE[w] for w in re.split(r"[\s-]+", phrase))


def _word_numbers(text: str) -> list[int]:
    """Values of number-word phrases up to 999: 'one hundred and five' -> 105."""
    values = []
    for match in _WORD_NUMBER.finditer(text):
        head, tail = match.group(1), match.group(2)
        if "hundred" in match.group(0):
            values.append(100 * _small_value(head) + (_small_value(tail) if tail else 0))
        else:
            values.append(_small_value(head))
    return values


def parse_count(text: str) -> int | None:
    """The one integer count `text` states (digits or words), or None if none/ambiguous."""
    if not isinstance(text, str) or len(text) > MAX_COUNT_CHARS:
        return None
    found: set[float] = set()
    for token in _INTEGER.findall(text):
        if len(token) > 12:
            return None
        found.add(float(token))
    found.update(_word_numbers(text.lower()))
    if len(found) != 1:
        return None
    value = found.pop()
    return int(value) if value == int(value) and 0 <= value <= MAX_COUNT else None
