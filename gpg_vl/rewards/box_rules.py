"""Box rewards: iou, giou, iou_hit (one box, task "grounding") and detection (many boxes).

The predicted box is parsed from the answer part of the completion (`extract_answer`
"auto": the last <answer>, else the last \\boxed{}, else the whole text) by
`boxes.parse_box`, converted from the model's convention (`ctx.convention`: grid1000 for
Qwen2-VL, input pixels for Qwen2.5-VL, ...) to ORIGINAL image pixels, cleaned (corners
reordered, clipped to the image) and compared with `record.answer`, an original-pixel
[x1, y1, x2, y2]. No box, an invalid box, or an unknown image size the convention needs
all score 0.

- `iou`:     IoU in [0, 1].
- `giou`:    GIoU + 1, in [0, 2] (the LISA runs' reward). No/invalid box scores 0, the
             floor of that range, so a missing box never outranks a real one.
- `iou_hit`: 1.0 if IoU > threshold (default 0.5, the RefCOCO accuracy criterion).
- `detection`: F1 of greedy matching, see `detection_f1`.
"""

from __future__ import annotations

from typing import Any, Callable

from .answers import extract_answer
from .boxes import (MAX_BOXES, Box, box_giou, box_iou, clean_box, parse_box,
                    parse_scored_boxes, to_original_pixels)
from .context import RewardContext, Size
from .registry import register_reward


def _gt_box(answer: Any, size: Size | None) -> Box | None:
    try:
        box = [float(v) for v in answer]
    except (TypeError, ValueError):
        return None
    return clean_box(box, size)


def predicted_box(text: str, ctx: RewardContext, i: int, record: Any) -> Box | None:
    """The box a completion answers, as the box rules see it: original-image pixels, or None.

    Public so evaluation reports draw exactly the box that was scored."""
    return _to_image(parse_box(extract_answer(text)), ctx, i, record)


def _to_image(box: Box | None, ctx: RewardContext, i: int, record: Any) -> Box | None:
    """A model-convention box as a clean original-pixel box, or None."""
    if box is None:
        return None
    size = ctx.original_size(i, record)
    return clean_box(to_original_pixels(box, ctx.convention, size, ctx.input_size(i, record)), size)


def _pair_scores(completions: list[str], samples: list[Any], ctx: RewardContext,
                 score: Callable[[Box, Box], float]) -> list[float]:
    """score(pred, gt) per item, 0.0 where either box is missing or invalid."""
    out = []
    for i, (text, record) in enumerate(zip(completions, samples)):
        pred = predicted_box(text, ctx, i, record)
        gt = _gt_box(record.answer, ctx.original_size(i, record))
        out.append(score(pred, gt) if pred is not None and gt is not None else 0.0)
    return out


@register_reward("iou")
def iou_reward(completions: list[str], samples: list[Any], ctx: RewardContext) -> list[float]:
    """IoU of the predicted box with the record's box, in [0, 1]."""
    return _pair_scores(completions, samples, ctx, box_iou)


@register_reward("giou")
def giou_reward(completions: list[str], samples: list[Any], ctx: RewardContext) -> list[float]:
    """GIoU + 1, in [0, 2]; 0 without a valid box."""
    return _pair_scores(completions, samples, ctx, lambda p, g: box_giou(p, g) + 1.0)


@register_reward("iou_hit")
def iou_hit_reward(completions: list[str], samples: list[Any], ctx: RewardContext, *,
                   threshold: float = 0.5) -> list[float]:
    """1.0 when IoU > threshold, else 0.0."""
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"iou_hit threshold must be in [0, 1), got {threshold}")
    return _pair_scores(completions, samples, ctx, lambda p, g: float(box_iou(p, g) > threshold))


def detection_f1(preds: list[tuple[Box | None, float]], gts: list[Box], threshold: float) -> float:
    """F1 = 2 TP / (#pred + #gt) after greedy matching.

    Predictions in decreasing confidence each take the unmatched ground-truth box with the
    highest IoU, a true positive when IoU >= threshold (COCO convention). Invalid predicted
    boxes count as false positives. No predictions and no ground truth scores 1.0.
    """
    if not preds and not gts:
        return 1.0
    unmatched = list(range(len(gts)))
    tp = 0
    for box, _ in sorted(preds, key=lambda p: -p[1]):
        if box is None or not unmatched:
            continue
        best = max(unmatched, key=lambda j: box_iou(box, gts[j]))
        if box_iou(box, gts[best]) >= threshold:
            unmatched.remove(best)
            tp += 1
    return 2.0 * tp / (len(preds) + len(gts))


@register_reward("detection")
def detection_reward(completions: list[str], samples: list[Any], ctx: RewardContext, *,
                     threshold: float = 0.5) -> list[float]:
    """F1 of predicted boxes (with optional confidences) against the record's boxes.

    More than MAX_BOXES predicted boxes scores 0: flooding the image is not detection.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"detection threshold must be in [0, 1], got {threshold}")
    out = []
    for i, (text, record) in enumerate(zip(completions, samples)):
        scored = parse_scored_boxes(extract_answer(text))
        if len(scored) > MAX_BOXES:
            out.append(0.0)
            continue
        preds = [(_to_image(box, ctx, i, record), conf) for box, conf in scored]
        size = ctx.original_size(i, record)
        answers = record.answer if isinstance(record.answer, (list, tuple)) else []
        gts = [g for g in (_gt_box(a, size) for a in answers) if g is not None]
        out.append(detection_f1(preds, gts, threshold))
    return out
