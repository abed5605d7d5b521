"""Reading numbers and counts out of short answer strings, strictly.

`parse_number` accepts ONE number, in the notation `notation.normalize_math` reads
(`$3,000$`, `140°`, `45^{\\circ}`, `12 cm`, `３`, `50\\%`), optionally with a leading `x =`,
one trailing word (`5 apples`), as a simple fraction (`3/4`, `\\frac{3}{4}`), or as English
words ("three", "twenty-one", "one hundred and five"). Anything else ("3 or 4", "about 7",
"1 2 3", "12 pi") is not a number: no partial credit for hedging.

`parse_count` reads the one whole number a short answer states ("There are 3 cubes.",
"2 + 1 = 3", "3 in total", "three"); hedges, ranges and several different numbers give
None (statement.stated_answer decides what is stated).
"""

from __future__ import annotations

import math
import re

from .notation import normalize_math
from .statement import stated_answer, words_to_digits

MAX_NUMBER_CHARS = 64
"""A number answer longer than this (after normalising) is not a number answer."""
MAX_COUNT_CHARS = 2_000
MAX_COUNT = 10**9

NUMBER_PATTERN = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d{1,4})?"
"""A decimal number as models write it (sign, decimals, short exponent); ASCII digits."""
_NUM = NUMBER_PATTERN
_LEAD = re.compile(r"^[a-zA-Z]\s*=\s*")
_PLAIN = re.compile(rf"({_NUM})\s*(?:([a-zA-Z]{{1,12}})(?:\^?\{{?[23]\}}?)?\.?)?", re.ASCII)
_NOT_UNITS = set("pi sqrt ln log exp sin cos tan theta alpha beta gamma sigma mu lambda phi "
                 "or and to e i j x y z n a b c d p q r t u v w".split())
"""Letters after a number that make it an expression ("12 pi", "5x"), not a unit."""
_FRACTION = re.compile(rf"(-?)\\frac\{{({_NUM})\}}\{{({_NUM})\}}|({_NUM})\s*/\s*({_NUM})",
                       re.ASCII)


def _plain_or_fraction(s: str) -> float | None:
    plain = _PLAIN.fullmatch(s)
    if plain:
        if plain.group(2) and plain.group(2).lower() in _NOT_UNITS:
            return None
        return float(plain.group(1))
    frac = _FRACTION.fullmatch(s.replace(" ", ""))
    if not frac:
        return None
    sign, a, b = (frac.group(1), frac.group(2), frac.group(3)) if frac.group(2) \
        else ("", frac.group(4), frac.group(5))
    den = float(b)
    return (-1.0 if sign else 1.0) * float(a) / den if den != 0 else None


def parse_number(text: str) -> float | None:
    """The single finite number `text` states, or None (see module docstring)."""
    if not isinstance(text, str) or len(text) > 4 * MAX_NUMBER_CHARS:
        return None
    s = _LEAD.sub("", normalize_math(words_to_digits(text)).rstrip(".")).strip()
    if len(s) > MAX_NUMBER_CHARS:
        return None
    value = _plain_or_fraction(s)
    return value if value is not None and math.isfinite(value) else None


def numbers_equal(a: float, b: float, rel_tol: float = 1e-6, precision: int | None = None) -> bool:
    """Equal within `rel_tol` (relative, with a 1e-9 absolute floor), or after rounding
    both to `precision` decimals when the record gives one (MathVista's `precision`)."""
    if precision is not None:
        return round(a, precision) == round(b, precision)
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-9)


_NONE = re.compile(r"\s*(?:there\s+(?:are|is)\s+)?(?:no|none|nothing)\b[a-z\s]*\.?\s*", re.IGNORECASE)
"""'None', 'no objects', 'There are no cubes.': a count of zero (no digits anywhere)."""


def parse_count(text: str) -> int | None:
    """The one whole count `text` states (digits or words), or None if none/ambiguous."""
    if not isinstance(text, str) or len(text) > MAX_COUNT_CHARS:
        return None
    if _NONE.fullmatch(text):
        return 0
    stated = stated_answer(text)
    value = parse_number(stated) if stated is not None else None
    if value is None or value != int(value) or not 0 <= value <= MAX_COUNT:
        return None
    return int(value)
