"""Units written after math answers: which words they are, and which are the same unit.

GeoQA golds carry units (`10√{3}cm`, `16π平方米`, `(√{3}+1)小时`), models add their own
(`10\\sqrt{3} cm`, `16\\pi \\text{ m}^2`, `1.5 hours`). A unit never changes the value
compared, but two different units of one kind do change the answer: `5 mm` is not `5cm`.
So each spelling maps to one canonical name; generic words (units, square units, 个,
单位) map to None and agree with anything. Area and volume forms share their length's
name (`平方米`, `square meters`, `m^2` are all "m"): the exponent is notation, the scale
is not.
"""

from __future__ import annotations

import re

_FAMILIES = {
    "mm": "millimeters millimetres millimeter millimetre mm 毫米 平方毫米",
    "cm": "centimeters centimetres centimeter centimetre cm 厘米 平方厘米 立方厘米 "
          "square_centimeters square_centimetres cubic_centimeters",
    "dm": "decimeters decimeter dm 分米 平方分米 立方分米",
    "m": "meters metres meter metre m 米 平方米 立方米 square_meters square_metres cubic_meters",
    "km": "kilometers kilometres kilometer kilometre km 千米 公里 平方千米 平方公里 square_kilometers",
    "in": "inches inch square_inches cubic_inches",
    "ft": "feet foot ft square_feet square_foot sq_ft sq._ft sq.ft cubic_feet",
    "yd": "yards yard yd square_yards",
    "mi": "miles mile mi square_miles",
    "deg": "degrees degree deg 度",
    "rad": "radians radian rad",
    "h": "hours hour hrs hr h 小时",
    "min": "minutes minute mins min 分钟",
    "s": "seconds second secs sec s 秒 秒钟",
    "day": "days day 天", "week": "weeks week 周", "month": "months month", "year": "years year 年",
    "km/h": "km/h kmh", "m/s": "m/s", "mph": "mph",
    "kg": "kilograms kilogram kg 千克 公斤", "g": "grams gram g 克", "mg": "mg", "t": "吨",
    "lb": "pounds pound lbs lb", "oz": "ounces oz",
    "l": "liters litres liter litre l L 升", "ml": "milliliters millilitres ml mL 毫升",
    "yuan": "yuan 元", "dollar": "dollars dollar usd", "cent": "cents cent", "euro": "euros euro",
    "jiao": "角", "fen": "分",
}
_GENERIC = ("square_units sq_units sq._units square_unit units unit 平方单位 单位 个 只 人 岁 倍 步 次 "
            "辆 块 棵 本 页 张 条 瓶 盒 件").split()

_CANONICAL = {w.replace("_", " "): name for name, words in _FAMILIES.items() for w in words.split()}
_CANONICAL.update({w.replace("_", " "): None for w in _GENERIC})


def _alternation(words: list[str]) -> str:
    """Longest first, so `cm` is tried before `m`; a space may be any run of spaces."""
    return "|".join(re.escape(w).replace("\\ ", r"\s*") for w in sorted(words, key=len, reverse=True))


_LATIN = [w for w in _CANONICAL if w.isascii()]
_CJK = [w for w in _CANONICAL if not w.isascii()]
_POWER = r"(?:\^\s*\{?\s*[23]\s*\}?|[23](?!\d))?"  # cm^2, cm^{2}, and m2 (NFKC of ㎡)
UNIT_PATTERN = rf"(?:(?:{_alternation(_LATIN)})(?![A-Za-z])|{_alternation(_CJK)}){_POWER}"
"""One unit word (statement.py's tokeniser: a unit after a number belongs to it)."""
_TRAILING = re.compile(rf"(?<=[\d}}).\s])\s*\(?\s*(?P<unit>(?:{_alternation(_LATIN)})(?![A-Za-z])"
                       rf"|{_alternation(_CJK)})\s*{_POWER}\s*\)?\s*[.。]?\s*$")
_TAIL = 40
"""Units are looked for in the last characters only (linear, and units are short)."""


def canonical_unit(word: str) -> str | None:
    """'centimetres' / '厘米' / 'cm' -> 'cm'; generic or unknown words -> None."""
    return _CANONICAL.get(re.sub(r"\s+", " ", word.strip()))


def strip_units(s: str) -> tuple[str, str | None]:
    """(s without up to two trailing unit words, canonical name of the last unit stripped
    that is not generic). `10\\sqrt{3} cm` -> (`10\\sqrt{3}`, "cm")."""
    unit = None
    for _ in range(2):
        head = s[:-_TAIL] if len(s) > _TAIL else ""
        m = _TRAILING.search(s, len(head))
        if m is None or not s[:m.start()].strip():
            break
        unit = unit or canonical_unit(m.group("unit"))
        s = s[:m.start()].rstrip()
    return s, unit
