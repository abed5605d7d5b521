"""The notation normaliser, units, stated values and constant evaluation, one by one."""

from __future__ import annotations

import math

import pytest

from gpg_vl.rewards.evaluate import constant_value
from gpg_vl.rewards.mathequal import gold_parses, math_equal
from gpg_vl.rewards.notation import is_whole_math, normalize_math, split_unit, units_conflict
from gpg_vl.rewards.statement import stated_answer


@pytest.mark.parametrize("text, expected", [
    ("8√{3}", r"8\sqrt{3}"), ("10√{3}cm", r"10\sqrt{3}"), ("16π平方米", r"16\pi"),
    ("(√{3}+1)小时", r"(\sqrt{3}+1)"), (r"\frac{1}{2}cm²", r"\frac{1}{2}"), ("140°", "140"),
    (r"45^{\circ}", "45"), ("1,000,000", "1000000"), ("1,2", "1,2"), ("2√3", r"2\sqrt{3}"),
    ("12 pi", r"12 \pi"), ("３", "3"), ("½", "1/2"), ("x²", "x^{2}"), (r"\dfrac{3}{4}", r"\frac{3}{4}"),
    (r"\sqrt3", r"\sqrt{3}"), ("sqrt(3)", r"\sqrt{3}"), ("5 square units", "5"), ("10 (cm)", "10"),
    (r"10\text{ cm}^2", "10"), ("16π㎡", r"16\pi"), ("2m", "2"), ("m", "m"), (r"\frac{1}{2}bh", r"\frac{1}{2}bh"),
])
def test_normalize_math(text, expected):
    assert normalize_math(text) == expected


def test_units_keep_their_scale():
    assert split_unit("10√{3}cm") == (r"10\sqrt{3}", "cm")
    assert split_unit("5 厘米")[1] == split_unit("5 centimetres")[1] == "cm"
    assert split_unit("16π平方米")[1] == split_unit("16 square meters")[1] == "m"   # area shares m
    assert split_unit("3 sq. units")[1] is None and split_unit("3个")[1] is None    # generic
    assert split_unit("140°")[1] == split_unit("140 degrees")[1] == "deg"
    assert units_conflict("5 mm", "5cm") and units_conflict("140 rad", "140°")
    assert not units_conflict("5", "5cm") and not units_conflict("5 厘米", "5cm")


@pytest.mark.parametrize("text, whole", [
    (r"8\sqrt{3}", True), (r"(\sqrt{3}+1)", True), ("x^{2}-1", True), (r"\frac{1}{2}", True),
    (r"\frac{1}{2}bh", False), ("AC=BC", False), ("6cm或8cm", False), ("", False), ("x", False),
])
def test_is_whole_math(text, whole):
    assert is_whole_math(text) == whole


def test_gold_parses():
    assert gold_parses("8√{3}") and gold_parses("16π平方米") and gold_parses("140°") and gold_parses("3")
    assert not gold_parses("AC=BC") and not gold_parses("6cm或8cm")


@pytest.mark.parametrize("text, value", [
    ("The length is 8\\sqrt{2}.", r"8\sqrt{2}"), ("2 + 1 = 3", "3"), ("3 in total", "3"), ("three", "3"),
    ("x = 5", "5"), ("m∠2 = 120", "120"), ("80°, because 180° - 100° = 80°", "80"),
    ("There are 8 objects: 3 cubes, 2 spheres, 3 cylinders.", "8"), (r"8\sqrt{3} \approx 13.86", r"8\sqrt{3}"),
    ("3 (three)", "3"), ("所以答案是10√3厘米", r"10\sqrt{3}厘米"),
    ("either 40 or 140", None), ("3 or 4", None), ("about 7", None), ("not 5", None), ("at least 3", None),
    ("between 3 and 5", None), ("3, 4", None), ("x^2 = 16", None), ("2x = 10", None), ("~3", None),
    ("3+", None), ("≈ 13.86", None), ("3 cubes: 1 red, 2 blue; plus 2 spheres", None), ("", None),
])
def test_stated_answer(text, value):
    assert stated_answer(text) == value


@pytest.mark.parametrize("text, value", [
    (r"8\sqrt{3}", 8 * math.sqrt(3)), (r"\frac{24}{\sqrt{3}}", 24 / math.sqrt(3)), (r"16\pi", 16 * math.pi),
    (r"2\sqrt{2}-2", 2 * math.sqrt(2) - 2), (r"(\sqrt{3}+1)", math.sqrt(3) + 1), ("2^{10}", 1024.0),
    (r"\sqrt[3]{8}", 2.0), (r"4 \times 3 \div 2", 6.0), ("-(1+2)", -3.0),
    ("x+1", None), ("1/0", None), (r"\sqrt{-1}", None), ("2^{1000}", None), ("(" * 20 + "1" + ")" * 20, None),
    ("1+", None), ("", None), (r"\log{2}", None),
])
def test_constant_value(text, value):
    got = constant_value(text)
    assert got == pytest.approx(value) if value is not None else got is None


@pytest.mark.parametrize("pred, gold, equal", [
    ("10", "10√{3}", False), (r"8\sqrt{2}", "8√{3}", False), (r"2\sqrt{2}+2", "2√{2}-2", False),
    (r"8\sqrt{3}", "8√{3}", True), (r"\sqrt{3}", "√{3}", True), (r"4\pi", "4πcm", True),
    ("0.5", r"\frac{1}{2}cm²", True), ("13.86", "8√{3}", False), ("13.856406460551", "8√{3}", True),
    ("6cm或8cm", "6cm或8cm", True), ("6cm", "6cm或8cm", False),                 # unparsed gold: text only
    ("x^2 - 1", "(x-1)(x+1)", True),                                             # math-verify
])
def test_math_equal_on_geoqa_notation(pred, gold, equal):
    assert math_equal(pred, gold) == equal
