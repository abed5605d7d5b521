"""Box parsing, conventions and IoU: expected values worked out by hand in comments."""

from __future__ import annotations

import pytest

from gpg_vl.rewards import RewardContext, get_reward
from gpg_vl.rewards.boxes import (box_giou, box_iou, clean_box, parse_box, parse_boxes,
                                  parse_scored_boxes, to_original_pixels)
from rewards_helpers import rec

# Completions as the models write them.
QWEN2_VL_RAW = ("<|object_ref_start|>the lady with the blue shirt<|object_ref_end|>"
                "<|box_start|>(243,468),(557,745)<|box_end|><|im_end|>")
QWEN2_VL_SKIPPED = "the lady with the blue shirt(243,468),(557,745)"  # special tokens skipped
QWEN25_VL_JSON = ('```json\n[\n\t{"bbox_2d": [135, 114, 240, 349], "label": "the lady with the '
                  'blue shirt"}\n]\n```')
R1_JSON = ("<think>The lady in the blue shirt stands on the left, next to the table.</think>\n"
           '<answer>{"bbox_2d": [104, 300, 238, 477]}</answer>')
R1_LIST = "<think>She is at the left edge.</think> <answer>[104, 300, 238, 477]</answer>"
VISUAL_RFT_DET = ("<think>Two planes on the runway.</think><answer>[{'Position': [254, 171, 334, 491], "
                  "'Confidence': 0.95}, {'Position': [500, 100, 600, 200], 'Confidence': 0.7}]</answer>")


@pytest.mark.parametrize("text, box", [
    (QWEN2_VL_RAW, [243, 468, 557, 745]),
    (QWEN2_VL_SKIPPED, [243, 468, 557, 745]),
    (QWEN25_VL_JSON, [135, 114, 240, 349]),
    (R1_JSON, [104, 300, 238, 477]),
    (R1_LIST, [104, 300, 238, 477]),
    ('[{"bbox_2d": [1, 2, 3, 4], "label": "a"}, {"bbox_2d": [5, 6, 7, 8], "label": "b"}]', [1, 2, 3, 4]),
    ("(10.5, 20), (30, 40.25)", [10.5, 20, 30, 40.25]),
    ("box: (1, 2, 3, 4)", [1, 2, 3, 4]),
    ("[0.1, 0.2, 0.5, 0.8]", [0.1, 0.2, 0.5, 0.8]),
    ("I see [9, 9, 9, 9] but {'bbox': [1, 2, 3, 4]}", [1, 2, 3, 4]),  # keyed beats bare
])
def test_parse_box_shapes(text, box):
    assert parse_box(text) == box


@pytest.mark.parametrize("text", ["", "no box here", "[1, 2, 3]", '{"bbox_2d": [1, 2,',
                                  "[nan, 1, 2, 3]", "[1e999, 0, 1, 1]", "[١, ٢, ٣, ٤]"])
def test_parse_box_rejects(text):
    assert parse_box(text) is None


def test_parse_boxes_and_confidences():
    assert parse_boxes("[1,2,3,4] and [5,6,7,8]") == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert parse_scored_boxes(VISUAL_RFT_DET) == [([254, 171, 334, 491], 0.95),
                                                   ([500, 100, 600, 200], 0.7)]
    assert parse_scored_boxes("[1,2,3,4] [5,6,7,8]") == [([1, 2, 3, 4], 1.0), ([5, 6, 7, 8], 1.0)]


def test_conversions():
    orig, inp = (640, 480), (448, 336)  # Qwen2.5-VL resize by 0.7
    assert to_original_pixels([100, 200, 500, 800], "grid1000", orig) == [64, 96, 320, 384]
    assert to_original_pixels([0.1, 0.2, 0.5, 0.8], "normalized", orig) == pytest.approx([64, 96, 320, 384])
    assert to_original_pixels([44.8, 67.2, 224, 268.8], "input_pixels", orig, inp) == \
        pytest.approx([64, 96, 320, 384])
    assert to_original_pixels([64, 96, 320, 384], "original_pixels", None) == [64, 96, 320, 384]
    assert to_original_pixels([1, 2, 3, 4], "grid1000", None) is None  # size needed, unknown
    with pytest.raises(ValueError, match="known: original_pixels"):
        to_original_pixels([1, 2, 3, 4], "pixels", orig)


def test_clean_box_deliberate_cases():
    assert clean_box([300, 400, 100, 200]) == [100, 200, 300, 400]           # swapped corners
    assert clean_box([-10, -5, 700, 500], (640, 480)) == [0, 0, 640, 480]    # clipped
    assert clean_box([10, 10, 10, 50]) is None                               # zero width
    assert clean_box([700, 500, 800, 600], (640, 480)) is None               # outside: empty
    assert clean_box([0, 0, float("nan"), 1]) is None


def test_iou_and_giou_by_hand():
    a, b = [0, 0, 10, 10], [5, 5, 15, 15]
    # intersection 5*5 = 25, union 100 + 100 - 25 = 175
    assert box_iou(a, b) == pytest.approx(25 / 175)
    # hull [0,0,15,15] = 225: GIoU = 25/175 - (225 - 175)/225
    assert box_giou(a, b) == pytest.approx(25 / 175 - 50 / 225)
    far = [20, 0, 30, 10]  # disjoint: hull 30*10 = 300, union 200 -> GIoU = -100/300
    assert box_iou(a, far) == 0.0
    assert box_giou(a, far) == pytest.approx(-1 / 3)
    assert box_iou(a, a) == 1.0 and box_giou(a, a) == 1.0


# One physical box, original pixels [64, 96, 320, 384] in a 640x480 image, written in every
# convention and completion shape. Qwen2.5-VL saw the image resized to 448x336.
ORIG, INPUT, GT = (640, 480), (448, 336), [64, 96, 320, 384]
IN_CONVENTION = {
    "grid1000": [100, 200, 500, 800],
    "normalized": [0.1, 0.2, 0.5, 0.8],
    "input_pixels": [44.8, 67.2, 224.0, 268.8],
    "original_pixels": [64, 96, 320, 384],
}
SHAPES = {
    "list": "<think>ok</think><answer>[{}, {}, {}, {}]</answer>",
    "json": '```json\n[\n\t{{"bbox_2d": [{}, {}, {}, {}], "label": "dog"}}\n]\n```',
    "points": "<answer>({}, {}), ({}, {})</answer>",
    "tokens": "<|object_ref_start|>dog<|object_ref_end|><|box_start|>({},{}),({},{})<|box_end|>",
}


@pytest.mark.parametrize("convention", list(IN_CONVENTION))
@pytest.mark.parametrize("shape", list(SHAPES))
def test_same_box_every_convention_scores_one(convention, shape):
    text = SHAPES[shape].format(*IN_CONVENTION[convention])
    ctx = RewardContext([[ORIG]], [[INPUT]], box_convention=convention)
    for rule, best in (("iou", 1.0), ("giou", 2.0), ("iou_hit", 1.0)):
        assert get_reward(rule)([text], [rec("grounding", GT)], ctx) == [pytest.approx(best)]


@pytest.mark.parametrize("family, text", [
    ("qwen2_vl", "<|object_ref_start|>dog<|object_ref_end|><|box_start|>(100,200),(500,800)<|box_end|>"),
    ("qwen2_vl", "dog(100,200),(500,800)"),
    ("Qwen2-VL", "<think>left</think><answer>[100, 200, 500, 800]</answer>"),
    ("qwen2_5_vl", '```json\n[\n\t{"bbox_2d": [44.8, 67.2, 224, 268.8], "label": "dog"}\n]\n```'),
    ("qwen2.5-vl", '<answer>{"bbox_2d": [44.8, 67.2, 224, 268.8]}</answer>'),
    ("generic", "<answer>[64, 96, 320, 384]</answer>"),
])
def test_same_box_every_model_family_scores_one(family, text):
    ctx = RewardContext([[ORIG]], [[INPUT]], model_family=family)
    assert get_reward("iou")([text], [rec("grounding", GT)], ctx) == [pytest.approx(1.0)]


def test_sizes_from_record_meta_when_context_has_none():
    ctx = RewardContext(model_family="qwen2_vl")
    record = rec("grounding", GT, meta={"image_size": [640, 480]})
    assert get_reward("iou")(["(100,200),(500,800)"], [record], ctx) == [pytest.approx(1.0)]
    # no size anywhere: a grid box cannot be converted, so it scores 0 (not a crash)
    assert get_reward("iou")(["(100,200),(500,800)"], [rec("grounding", GT)], ctx) == [0.0]


def test_unknown_family_needs_explicit_convention():
    with pytest.raises(ValueError, match="box_convention"):
        RewardContext(model_family="llava")
    assert RewardContext(model_family="llava", box_convention="normalized").convention == "normalized"
