"""The one normaliser of math and number notation, applied to golds and answers alike.

Datasets and models write the same value many ways: GeoQA golds as `8√{3}`, `10√{3}cm`,
`16π平方米`, `(√{3}+1)小时`; Geometry3K as `2 \\sqrt { 221 }`; models as `8\\sqrt{3}`,
`$8\\sqrt{3}$ cm`, `2√3`, `12 pi`, `1,000`, `45^{\\circ}`, `３`. math-verify reads unicode
radicals and trailing units only in part (`8√{3}` parses as 8, `\\frac{1}{2}cm^2` as
c*m**2/2), which makes a prefix of the gold decide the reward. So before anything is
compared, `normalize_math` rewrites both sides into one plain LaTeX:

- unicode math: √ -> \\sqrt{..}, π -> \\pi, × ÷ · -> \\times \\div \\cdot, − – -> -,
  superscripts (², ³, ⁻¹) -> ^{..}, full-width forms (３, （, ，) -> ASCII (NFKC), ½ -> 1/2;
- presentation: $, \\left/\\right, LaTeX spacing, \\text{..}/\\mathrm{..} (contents kept),
  \\dfrac/\\tfrac -> \\frac, `\\sqrt3` -> `\\sqrt{3}`, the word `pi` -> \\pi, `sqrt(3)`;
- degree signs (°, ^\\circ, \\degree) and percent signs are dropped;
- thousands separators (`1,000,000`) are dropped; `1,2` is left alone (it is a list);
- trailing units are dropped (units.py): metric, imperial, time, money, and the Chinese
  units GeoQA uses (米, 厘米, 千米, 平方米, 平方厘米, 小时, 分钟, 度, 元 ...), with ^2 / ^3;
  `split_unit` keeps the unit, so `units_conflict` can refuse `5 mm` for a gold `5cm`.

`is_whole_math(text)` says whether normalised text is made only of what math-verify reads
in full (numbers, single-letter variables, operators, brackets, \\sqrt \\frac \\pi ...).
Text that is not is never handed to math-verify: it would be compared by its prefix.
All rewrites are single regex passes over capped input, so time is linear.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .units import strip_units

MAX_MATH_CHARS = 1_000
"""Longer text is not a math answer; it is normalised only up to this length."""

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻", "0123456789+-")
_SUPER_RUN = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻]+")
_SYMBOLS = {"π": r"\pi ", "×": r"\times ", "÷": r"\div ", "·": r"\cdot ", "⋅": r"\cdot ",
            "−": "-", "–": "-", "—": "-", "⁄": "/", "∶": ":", "＝": "=", "ｘ": "x"}
_SYMBOL = re.compile("|".join(map(re.escape, _SYMBOLS)))
_ROOT_GROUP = re.compile(r"√\s*\{")
_ROOT_PAREN = re.compile(r"√\s*\(([^()]{0,60})\)")
_ROOT_ATOM = re.compile(r"√\s*(\d+(?:\.\d+)?|[A-Za-z]|\\pi)", re.ASCII)
_CUBE_ROOT = re.compile(r"∛\s*\{?(\d+|[A-Za-z])\}?", re.ASCII)

_TEXT = re.compile(r"\\(?:text|mathrm|mbox|textbf|textrm|textit|operatorname)\s*\{([^{}]*)\}")
_DECORATION = re.compile(r"\$|\\[,;!: ]|\\q?quad\b|~|\\left\b|\\right\b|\\displaystyle\b|\\%|%"
                         r"|\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ\b|\\degree\b|°")
_DEGREE = re.compile(r"°|\\circ\b|\\degree\b")
_FRAC = re.compile(r"\\[dt]frac\b")
_SQRT_ATOM = re.compile(r"\\sqrt\s*(\d+(?:\.\d+)?|[A-Za-z](?![A-Za-z]))", re.ASCII)
_WORD_SQRT = re.compile(r"(?<![A-Za-z\\])sqrt\s*(?:\(\s*([^()]{1,60})\)|(\d+(?:\.\d+)?))", re.ASCII)
_WORD_PI = re.compile(r"(?<![A-Za-z\\])pi(?![A-Za-z])", re.ASCII)
_THOUSANDS = re.compile(r"(?<![\d,.])(\d{1,3}(?:,\d{3})+)(?![\d,])", re.ASCII)

_MATH_COMMANDS = "sqrt|frac|pi|cdot|times|div|infty"
_WHOLE = re.compile(rf"(?:\s|\d|\.|[-+*/^_=(){{}}\[\]|]|\\(?:{_MATH_COMMANDS})(?![A-Za-z])"
                    r"|(?<![A-Za-z\\])[A-Za-z](?![A-Za-z]))*", re.ASCII)
_HAS_VALUE = re.compile(rf"\d|\\(?:pi|infty)(?![A-Za-z])", re.ASCII)


def _unicode(s: str) -> str:
    """Unicode math -> LaTeX; superscripts before NFKC (which would make ² a plain 2)."""
    s = _SUPER_RUN.sub(lambda m: "^{" + m.group(0).translate(_SUPERSCRIPT) + "}", s)
    s = unicodedata.normalize("NFKC", s)
    s = _SYMBOL.sub(lambda m: _SYMBOLS[m.group(0)], s)
    s = _ROOT_GROUP.sub(r"\\sqrt{", s)
    s = _ROOT_PAREN.sub(r"\\sqrt{\1}", s)
    s = _ROOT_ATOM.sub(r"\\sqrt{\1}", s)
    s = _CUBE_ROOT.sub(r"\\sqrt[3]{\1}", s)
    return s.replace("√", r"\sqrt")


def normalize_math(text: str) -> str:
    """One plain-LaTeX spelling of a math or number answer (see module docstring)."""
    return split_unit(text)[0]


def rewrite_notation(text: str) -> str:
    """Every rewrite of the module docstring except dropping units (statement.py reads
    sentences with it, so that a unit stays with its number)."""
    if not isinstance(text, str):
        return ""
    s = _unicode(text[:MAX_MATH_CHARS])
    s = _TEXT.sub(r" \1 ", s)
    s = _DECORATION.sub(" ", s)
    s = _FRAC.sub(r"\\frac", s)
    s = _WORD_SQRT.sub(lambda m: "\\sqrt{" + (m.group(1) or m.group(2)) + "}", s)
    s = _SQRT_ATOM.sub(r"\\sqrt{\1}", s)
    s = _WORD_PI.sub(r"\\pi ", s)
    return _THOUSANDS.sub(lambda m: m.group(1).replace(",", ""), s).strip()


def split_unit(text: str) -> tuple[str, str | None]:
    """(normalised value, its trailing unit as a canonical name such as "cm", or None when
    no unit or a generic one such as "units" / 个)."""
    return _split_unit(text[:MAX_MATH_CHARS]) if isinstance(text, str) else ("", None)


@lru_cache(maxsize=16384)
def _split_unit(text: str) -> tuple[str, str | None]:
    """Cached on the capped text: golds repeat every epoch, answers within a group."""
    value, unit = strip_units(rewrite_notation(text))
    if unit is None and _DEGREE.search(text):
        unit = "deg"  # 140° is degrees: "140 radians" states another quantity
    return value.strip().rstrip(".。").strip(), unit


def units_conflict(a: str, b: str) -> bool:
    """Both texts state a (known, non-generic) unit and the units differ: `5 mm` vs `5cm`."""
    ua, ub = split_unit(a)[1], split_unit(b)[1]
    return ua is not None and ub is not None and ua != ub


_SPACE = re.compile(r"\s+")


def canonical_math(text: str) -> str:
    """Normalised text without any spacing, for exact comparison."""
    return _SPACE.sub("", normalize_math(text))


def is_whole_math(normalized: str) -> bool:
    """Whether normalised text is only what math-verify reads in full (module docstring):
    then a parse covers all of it, never a prefix. Needs a number or constant in it."""
    return (len(normalized) <= MAX_MATH_CHARS and _WHOLE.fullmatch(normalized) is not None
            and _HAS_VALUE.search(normalized) is not None)
