"""Answer extraction and normalisation building blocks."""

from __future__ import annotations

import pytest

from gpg_vl.rewards.answers import (choice_letter, extract_answer, label_match, math_equal,
                                    normalize_label, parse_count, parse_number)
from gpg_vl.rewards.mathequal import sympy_safe


@pytest.mark.parametrize("text, mode, expected", [
    ("<think>a</think><answer> 3 </answer>", "auto", "3"),
    ("<answer>1</answer> then <answer>2</answer>", "auto", "2"),            # the last one
    ("<think>a</think><answer>\\boxed{x+1}</answer>", "auto", "x+1"),       # boxed inside answer
    ("so \\boxed{\\frac{1}{2}} done", "auto", "\\frac{1}{2}"),               # nested braces
    ("\\boxed{1} and \\boxed{2}", "auto", "2"),
    ("  plain answer \n", "auto", "plain answer"),
    ("<answer>unclosed", "auto", "<answer>unclosed"),
    ("<answer>3</answer>", "answer_tag", "3"),
    ("no tag", "answer_tag", ""),
    ("\\boxed{7", "boxed", ""),                                                # unbalanced
    ("(Red), blue", "first_word", "Red"),
    ("   ", "first_word", ""),
    (" x ", "whole", "x"),
])
def test_extract_answer(text, mode, expected):
    assert extract_answer(text, mode) == expected


def test_extract_answer_non_string_and_bad_mode():
    assert extract_answer(None) == ""
    with pytest.raises(ValueError, match="first_word"):
        extract_answer("x", "last_line")


def test_labels():
    assert normalize_label(" Boeing_737-200 ") == "boeing737-200"
    assert normalize_label("(Red).") == "red"
    assert label_match("Pink Primrose", "pink_primrose")
    assert not label_match("", "x")
    assert not label_match("red or blue", "red")
    assert label_match("red or blue", "red", mode="contains")
    assert label_match("crimson", "red", synonyms={"Red": ["crimson", "scarlet"]})


@pytest.mark.parametrize("text, letter", [
    ("B", "B"), ("(B)", "B"), ("B.", "B"), ("B) 102", "B"), ("(B) 102", "B"), ("b", "B"),
    ("The answer is B", "B"), ("Answer: (C)", "C"), ("the correct option is D.", "D"),
    ("102", "B"), ("A or B", None), ("(A) or (B)", None), ("A cat", None), ("F", None),
    ("I think it is (C) because ...", "C"), ("", None),
])
def test_choice_letter(text, letter):
    assert choice_letter(text, ["97", "102", "107", "122"]) == letter


@pytest.mark.parametrize("text, value", [
    ("140°", 140.0), ("45^{\\circ}", 45.0), ("12 cm", 12.0), ("$3,000$", 3000.0), ("x = 5", 5.0),
    ("-\\frac{1}{2}", -0.5), ("3/4", 0.75), ("50\\%", 50.0), ("\\text{5 apples}", 5.0), ("7.", 7.0),
    ("12 pi", None), ("5x", None), ("3 or 4", None), ("1e9999", None), ("nan", None), ("1/0", None),
    ("2 \\sqrt{221}", None), ("٣", None), ("9" * 100, None),
])
def test_parse_number(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text, value", [
    ("3", 3), ("three", 3), ("Twenty-one", 21), ("one hundred and five", 105),
    ("There are 3 cubes.", 3), ("3 three", 3), ("3 red and 2 blue", None), ("3.5", None),
    ("-3", None), ("none", 0), ("There are no cubes.", 0), ("No, 3", None), ("1" * 20, None),
    ("2 + 1 = 3", 3), ("1,000", 1000), ("3 in total", 3), ("3 (three)", 3), ("3+", None), ("~3", None),
])
def test_parse_count(text, value):
    assert parse_count(text) == value


def test_math_equal_paths():
    assert math_equal("0.333333", "1/3", rel_tol=1e-5)            # numbers with tolerance
    assert not math_equal("0.33", "1/3")
    assert math_equal("1.52", "1.5", precision=1)                  # MathVista precision
    assert math_equal("$2\\sqrt{221}$", "2 \\sqrt { 221 }")         # canonical text
    assert math_equal("\\sqrt{884}", "2 \\sqrt { 221 }")           # math-verify
    assert math_equal("\\dfrac{3}{4}", "\\frac{3}{4}")
    assert not math_equal("", "3")
    assert not math_equal("9**9**9**9", "1")                       # refused, not computed


@pytest.mark.parametrize("text, safe", [
    ("2\\sqrt{221}", True), ("x^2 + y^2", True), ("2^{100}", True), ("(10^{100})^{100}", True),
    ("9**9**9**9", False), ("10^{10^{10^{10}}}", False), ("2^{2^{2}}", False), ("2^3^4", False),
    ("10^{100000}", False), ("99999!", False), ("\\binom{99999}{5000}", False), ("5!", True),
    ("\\exp(\\exp(\\exp(100)))", False), ('{"bbox_2d": [1]}', False), ("x" * 500, False),
    ("{" * 20 + "}" * 20, False),
])
def test_sympy_safe(text, safe):
    assert sympy_safe(text) == safe
