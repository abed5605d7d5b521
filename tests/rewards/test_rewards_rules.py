"""Built-in rules on completions written the way Qwen2-VL / Qwen2.5-VL write them."""

from __future__ import annotations

import random
import re

import pytest

from gpg_vl.rewards import RewardContext, get_reward
from gpg_vl.rewards.format_rules import FORMAT_PATTERN, format_ok
from rewards_helpers import rec

CTX = RewardContext()


def score(rule, text, record, ctx=CTX, **options):
    return get_reward(rule)([text], [record], ctx, **options)[0]


# --- format -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("<think>The flower has five pink petals.</think> <answer>pink primrose</answer>", 1.0),
    ("<think>\nTwo cubes, one sphere.\n</think>\n<answer> 3 </answer>\n", 1.0),
    ("<think></think><answer></answer>", 1.0),
    ("<think>a</think><answer>3</answer><|im_end|>", 1.0),         # decoded with special tokens
    ("<answer>3</answer>", 0.0),                                     # no reasoning
    ("<think>3 objects</think>", 0.0),                                # no answer
    ("<think>a</think><answer>3</answer> extra text", 0.0),           # trailing text
    ("Sure! <think>a</think><answer>3</answer>", 0.0),                # leading text
    ("<think>a<answer>3</answer>", 0.0),
])
def test_format(text, expected):
    assert score("format", text, rec("count", 3)) == expected


def test_format_equivalent_to_the_regex():
    """format_ok avoids the regex (quadratic on hostile text) but must agree with it."""
    rng = random.Random(0)
    parts = ["<think>", "</think>", "<answer>", "</answer>", " ", "\n", "x", "<", ">"]
    for _ in range(5000):
        text = "".join(rng.choice(parts) for _ in range(rng.randint(0, 12)))
        expected = re.fullmatch(FORMAT_PATTERN, text.strip(), re.DOTALL) is not None
        assert format_ok(text) == expected, text


@pytest.mark.parametrize("text, expected", [
    ("<think>AB = 2x, so x = \\sqrt{221}.</think> The answer is $\\boxed{2\\sqrt{221}}$.", 1.0),
    ("<think>ok</think>\\boxed{\\frac{1}{2}}", 1.0),
    ("<think>ok</think>\\boxed{}", 0.0),
    ("\\boxed{3}", 0.0),
    ("<think>\\boxed{3}</think> 3", 0.0),  # the box must come after the reasoning
])
def test_format_boxed(text, expected):
    assert score("format_boxed", text, rec("math", "3")) == expected


# --- boxes --------------------------------------------------------------------------------

def test_iou_giou_hit_on_a_partial_box():
    ctx = RewardContext([[(640, 480)]], [[(640, 480)]], "generic")
    record = rec("grounding", [0, 0, 100, 100])
    text = "<think>top left</think><answer>[50, 0, 150, 100]</answer>"
    # intersection 50*100 = 5000, union 15000 -> IoU 1/3; hull 150*100 = union -> GIoU = IoU
    assert score("iou", text, record, ctx) == pytest.approx(1 / 3)
    assert score("giou", text, record, ctx) == pytest.approx(1 + 1 / 3)
    assert score("iou_hit", text, record, ctx) == 0.0
    assert score("iou_hit", text, record, ctx, threshold=0.3) == 1.0


@pytest.mark.parametrize("text", ["<answer>I cannot find it.</answer>", "<answer>[5, 5, 5, 90]</answer>",
                                  "<answer>[700, 500, 900, 600]</answer>", ""])
def test_box_rules_score_zero_without_a_valid_box(text):
    ctx = RewardContext([[(640, 480)]], [[(640, 480)]])
    for rule in ("iou", "giou", "iou_hit"):
        assert score(rule, text, rec("grounding", [0, 0, 100, 100]), ctx) == 0.0


def test_swapped_and_out_of_bounds_boxes_are_repaired():
    ctx = RewardContext([[(640, 480)]], [[(640, 480)]])
    record = rec("grounding", [0, 0, 100, 100])
    assert score("iou", "<answer>[100, 100, 0, 0]</answer>", record, ctx) == 1.0
    assert score("iou", "<answer>[-50, -20, 100, 100]</answer>", record, ctx) == 1.0


def test_detection_f1():
    ctx = RewardContext([[(1000, 1000)]], [[(1000, 1000)]], "qwen2_vl")  # grid == pixels here
    gts = [[254, 171, 334, 491], [500, 100, 600, 200]]
    both = ("<think>Two planes.</think><answer>[{'Position': [254, 171, 334, 491], 'Confidence': 0.95}, "
            "{'Position': [500, 100, 600, 200], 'Confidence': 0.7}]</answer>")
    assert score("detection", both, rec("detection", gts), ctx) == 1.0
    one_and_wrong = "<answer>[{'Position': [254, 171, 334, 491]}, {'Position': [0, 0, 10, 10]}]</answer>"
    assert score("detection", one_and_wrong, rec("detection", gts), ctx) == pytest.approx(2 * 1 / 4)
    # the same box twice matches one ground truth once: TP 1, 2 preds, 2 gts
    twice = "<answer>[254, 171, 334, 491] [254, 171, 334, 491]</answer>"
    assert score("detection", twice, rec("detection", gts), ctx) == pytest.approx(0.5)
    assert score("detection", "<answer>none</answer>", rec("detection", []), ctx) == 1.0
    assert score("detection", "<answer>nothing</answer>", rec("detection", gts), ctx) == 0.0
    flood = "<answer>" + " ".join(["[254, 171, 334, 491]"] * 101) + "</answer>"
    assert score("detection", flood, rec("detection", gts), ctx) == 0.0


# --- answer_match -------------------------------------------------------------------------

CHOICES = ["97", "102", "107", "122"]


@pytest.mark.parametrize("text, expected", [
    ("<think>Counting the marks gives 102.</think><answer>B</answer>", 1.0),
    ("<think>...</think><answer>(B)</answer>", 1.0),
    ("<think>...</think><answer>B. 102</answer>", 1.0),
    ("<think>...</think><answer>102</answer>", 1.0),                   # the option text
    ("Looking at the chart, the answer is (B).", 1.0),                 # no tags
    ("<think>...</think><answer>C</answer>", 0.0),
    ("<think>...</think><answer>A or B or C</answer>", 0.0),           # hedging
    ("<think>...</think><answer>(A) (B)</answer>", 0.0),
    ("<think>...</think><answer>E</answer>", 0.0),                     # not an option
])
def test_answer_match_choice(text, expected):
    assert score("answer_match", text, rec("choice", "B", CHOICES)) == expected


def test_answer_match_choice_gold_forms():
    # CV-Bench gold "(A)"; MathVista gold is the option text itself
    assert score("answer_match", "<answer>A</answer>", rec("choice", "(A)", ["left", "right"])) == 1.0
    assert score("answer_match", "<answer>(B)</answer>", rec("math", "102", CHOICES)) == 1.0


@pytest.mark.parametrize("text, gold, expected", [
    ("<think>The angles sum to 180, so 180 - 40 = 140°.</think>\n<answer>140°</answer>", "140°", 1.0),
    ("<think>...</think><answer>140</answer>", "140°", 1.0),
    ("<think>...</think><answer>$2\\sqrt{221}$</answer>", "2 \\sqrt { 221 }", 1.0),
    ("<think>...</think><answer>\\sqrt{884}</answer>", "2 \\sqrt { 221 }", 1.0),  # math-verify
    ("<think>r = 6</think> The area is \\boxed{12\\pi}.", "12 \\pi", 1.0),
    ("<think>...</think><answer>\\frac{1}{2}</answer>", "0.5", 1.0),
    ("<think>...</think><answer>3.0 cm</answer>", 3, 1.0),
    ("<think>...</think><answer>12 pi</answer>", "12", 0.0),          # not a unit
    ("<think>...</think><answer>139</answer>", "140°", 0.0),
    ("<think>...</think><answer>3 or 4</answer>", 3, 0.0),
])
def test_answer_match_math(text, gold, expected):
    assert score("answer_match", text, rec("math", gold)) == expected


def test_answer_match_math_precision_from_meta():
    record = rec("math", "1.5", meta={"precision": 1})
    assert score("answer_match", "<answer>1.52</answer>", record) == 1.0
    assert score("answer_match", "<answer>1.52</answer>", rec("math", "1.5")) == 0.0


@pytest.mark.parametrize("text, expected", [
    ("<think>The wings are swept back.</think> <answer>737-200</answer>", 1.0),
    ("<answer>Boeing 737-200</answer>", 1.0),             # the maker, then exactly the label
    ("<answer>737</answer>", 0.0),                        # a fragment of the gold
    ("<answer>Boeing 737-200 or 737-300</answer>", 0.0),  # two labels
    ("<answer>737_200</answer>", 0.0),                    # '-' is kept: different label
    ("<answer> 737-200 . </answer>", 1.0),
])
def test_answer_match_classification(text, expected):
    assert score("answer_match", text, rec("classification", "737-200")) == expected


def test_answer_match_label_modes_and_synonyms():
    record = rec("classification", "pink_primrose")
    assert score("answer_match", "<answer>Pink Primrose</answer>", record) == 1.0
    assert score("answer_match", "<answer>evening primrose</answer>", record) == 0.0
    assert score("answer_match", "<answer>evening primrose</answer>", record,
                 synonyms={"pink primrose": ["evening primrose"]}) == 1.0
    assert score("answer_match", "<answer>a pink primrose flower</answer>", record, mode="contains") == 1.0
    # containment is exploitable, which is why it is not the default
    assert score("answer_match", "<answer>rose or pink primrose or tulip</answer>", record) == 0.0


def test_answer_match_first_word_for_the_demo():
    record = rec("classification", "red")
    assert score("answer_match", "red", record, extract="first_word") == 1.0
    assert score("answer_match", "red blue", record, extract="first_word") == 1.0
    assert score("answer_match", "red.", record, extract="first_word") == 1.0
    assert score("answer_match", "blue red", record, extract="first_word") == 0.0
    assert score("answer_match", "red<junk>", record, extract="first_word") == 0.0
    assert score("answer_match", "", record, extract="first_word") == 0.0


def test_answer_match_count_task_and_unknown_task():
    assert score("answer_match", "<answer>three</answer>", rec("count", 3)) == 1.0
    assert score("answer_match", "<answer>7</answer>", rec("vqa", 7)) == 1.0     # number: as math
    assert score("answer_match", "<answer>Yes</answer>", rec("vqa", "yes")) == 1.0  # label


def test_answer_match_rejects_bad_options():
    with pytest.raises(ValueError, match="known: auto"):
        get_reward("answer_match")([], [], CTX, extract="last_line")
    with pytest.raises(ValueError, match="strict"):
        get_reward("answer_match")([], [], CTX, mode="fuzzy")


# --- count --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("<think>There are 2 cubes and 1 sphere.</think> <answer>3</answer>", 1.0),  # R1-V CLEVR
    ("<think>...</think><answer> 3 </answer>", 1.0),
    ("<think>...</think><answer>three</answer>", 1.0),
    ("<think>...</think><answer>There are three items.</answer>", 1.0),
    ("<think>...</think><answer>3 items</answer>", 1.0),
    ("<think>...</think><answer>4</answer>", 0.0),
    ("<think>...</think><answer>3 or 4</answer>", 0.0),
    ("<think>...</think><answer>3.5</answer>", 0.0),
])
def test_count(text, expected):
    assert score("count", text, rec("count", 3)) == expected
