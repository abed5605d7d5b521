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
- trailing units are dropped: metric, imperial, time, money, and the Chinese units GeoQA
  uses (米, 厘米, 千米, 平方米, 平方厘米, 小时, 分钟, 度, 元 ...), with ^2 / ^3.

`is_whole_math(text)` says whether normalised text is made only of what math-verify reads
in full (numbers, single-letter variables, operators, brackets, \\sqrt \\frac \\pi ...).
Text that is not is never handed to math-verify: it would be compared by its prefix.
All rewrites are single regex passes over capped input, so time is linear.
"""

from __future__ import annotations

import re
import unicodedata

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
_FRAC = re.compile(r"\\[dt]frac\b")
_SQRT_ATOM = re.compile(r"\\sqrt\s*(\d+(?:\.\d+)?|[A-Za-z](?![A-Za-z]))", re.ASCII)
_WORD_SQRT = re.compile(r"(?<![A-Za-z\\])sqrt\s*\(\s*([^()]{1,60})\)", re.ASCII)
_WORD_PI = re.compile(r"(?<![A-Za-z\\])pi(?![A-Za-z])", re.ASCII)
_THOUSANDS = re.compile(r"(?<![\d,.])(\d{1,3}(?:,\d{3})+)(?![\d,])", re.ASCII)

_ENGLISH_UNITS = (
    "square units|sq units|sq\\. units|square unit|units|unit|"
    "square centimeters|square centimetres|square meters|square metres|square kilometers|"
    "square inches|square feet|square foot|square yards|square miles|sq\\. ?ft|sq ft|"
    "cubic centimeters|cubic meters|cubic inches|cubic feet|"
    "millimeters|millimetres|centimeters|centimetres|kilometers|kilometres|meters|metres|"
    "millimeter|centimeter|kilometer|meter|metre|inches|inch|feet|foot|ft|yards|yard|yd|"
    "miles|mile|mi|mm|cm|dm|km|m|"
    "degrees|degree|deg|radians|radian|rad|"
    "hours|hour|hrs|hr|h|minutes|minute|mins|min|seconds|second|secs|sec|s|days|day|"
    "weeks|week|years|year|months|month|"
    "km/h|kmh|m/s|mph|"
    "kilograms|kilogram|grams|gram|kg|mg|g|pounds|pound|lbs|lb|ounces|oz|"
    "milliliters|millilitres|liters|litres|ml|mL|l|L|"
    "dollars|dollar|cents|cent|yuan|euros|euro|usd")
_CHINESE_UNITS = ("平方千米|平方公里|平方厘米|平方分米|平方毫米|平方米|立方厘米|立方分米|立方米|"
                  "千米|公里|厘米|分米|毫米|米|小时|分钟|秒钟|秒|天|周|年|度|元|角|分|千克|公斤|克|吨|"
                  "毫升|升|平方单位|单位|个|只|人|岁|倍|步|次|辆|块|棵|本|页|张|条|瓶|盒|件")
_TRAILING_UNIT = re.compile(
    rf"(?<=[\d}}).\s])\s*(?:(?:{_ENGLISH_UNITS})(?![A-Za-z])|{_CHINESE_UNITS})"
    r"\s*(?:\^\s*\{?\s*[23]\s*\}?)?\s*[.。]?\s*$")
UNIT_PATTERN = rf"(?:(?:{_ENGLISH_UNITS})(?![A-Za-z])|{_CHINESE_UNITS})(?:\^\s*\{{?\s*[23]\s*\}}?)?"
"""One unit word (for statement.py's tokeniser: a unit after a number belongs to it)."""

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


def strip_units(s: str) -> str:
    """Drop up to two trailing unit words (`10\\sqrt{3} cm`, `16\\pi平方米`, `3 sq. units`)."""
    for _ in range(2):
        head = s[:-40] if len(s) > 40 else ""
        tail = _TRAILING_UNIT.sub("", s[len(head):], count=1)
        if head + tail == s or not (head + tail).strip():
            break
        s = (head + tail).rstrip()
    return s


def normalize_math(text: str) -> str:
    """One plain-LaTeX spelling of a math or number answer (see module docstring)."""
    if not isinstance(text, str):
        return ""
    s = _unicode(text[:MAX_MATH_CHARS])
    s = _TEXT.sub(r" \1 ", s)
    s = _DECORATION.sub(" ", s)
    s = _FRAC.sub(r"\\frac", s)
    s = _WORD_SQRT.sub(r"\\sqrt{\1}", s)
    s = _SQRT_ATOM.sub(r"\\sqrt{\1}", s)
    s = _WORD_PI.sub(r"\\pi ", s)
    s = _THOUSANDS.sub(lambda m: m.group(1).replace(",", ""), s)
    return strip_units(s.strip()).strip().rstrip(".。").strip()


_SPACE = re.compile(r"\s+")


def canonical_math(text: str) -> str:
    """Normalised text without any spacing, for exact comparison."""
    return _SPACE.sub("", normalize_math(text))


def is_whole_math(normalized: str) -> bool:
    """Whether normalised text is only what math-verify reads in full (module docstring):
    then a parse covers all of it, never a prefix. Needs a number or constant in it."""
    return (len(normalized) <= MAX_MATH_CHARS and _WHOLE.fullmatch(normalized) is not None
            and _HAS_VALUE.search(normalized) is not None)
