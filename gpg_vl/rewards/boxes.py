"""The one box parser, converter and IoU of the project (the eval package reuses them).

A box is [x1, y1, x2, y2]: top-left and bottom-right corners, floats.

`parse_box` reads the shapes Qwen-family and R1-style models write, most specific first:

1. a `bbox_2d` / `bbox` / `box` / `position` key:  `{"bbox_2d": [135, 114, 240, 349]}`,
   also inside a JSON list of such objects (the first one wins);
2. Qwen2-VL box tokens:    `<|box_start|>(120,340),(560,780)<|box_end|>`;
3. two points:             `(120, 340), (560, 780)`;
4. a bare 4-number list:   `[120, 340, 560, 780]` or `(120, 340, 560, 780)`.

`clean_box` then handles boxes models get wrong, deliberately:
- swapped corners are reordered (x1 > x2 or y1 > y2 is a notation slip, not a miss);
- coordinates are clipped to the image when its size is known;
- a box with zero area after that, or with NaN/inf coordinates, is invalid (None), and
  every box reward scores an invalid box 0.

Only ASCII digits are read. All regexes are linear; callers pass capped text.
"""

from __future__ import annotations

import math
import re
from typing import Callable

from .context import Size
from .numbers import NUMBER_PATTERN

Box = list[float]

MAX_BOXES = 100
"""More boxes than this in one answer is a flood, not a detection (scored 0)."""

_N = f"({NUMBER_PATTERN})"
_SEP = r"\s*,\s*"
_LIST4 = r"[\[(]\s*" + _SEP.join([_N] * 4) + r"\s*[\])]"
_POINT = r"\(\s*" + _N + _SEP + _N + r"\s*\)"

_KEYED = re.compile(r"""(?:[bB](?:[bB][oO][xX](?:_2[dD])?|[oO][xX])|[pP]osition)["']?\s*[:=]\s*"""
                    + _LIST4, re.ASCII)
_BOX_TOKENS = re.compile(r"<\|box_start\|>\s*" + _POINT + _SEP + _POINT + r"\s*<\|box_end\|>",
                         re.ASCII)
_TWO_POINTS = re.compile(_POINT + r"\s*,?\s*(?:to\s*)?" + _POINT, re.ASCII)
_BARE_LIST = re.compile(_LIST4, re.ASCII)
_PATTERNS = (_KEYED, _BOX_TOKENS, _TWO_POINTS, _BARE_LIST)

_OBJECT = re.compile(r"\{[^{}]{0,1000}\}")
_CONFIDENCE = re.compile(r"""["']?(?:confidence|score|conf)["']?\s*[:=]\s*""" + _N,
                         re.IGNORECASE | re.ASCII)


def _to_box(groups: tuple[str, ...]) -> Box | None:
    box = [float(g) for g in groups]
    return box if all(math.isfinite(v) for v in box) else None


def _patterns_for(text: str) -> tuple[re.Pattern, ...]:
    """The patterns worth running: the keyed one only if a key word occurs (str.find is
    much faster than a regex whose start is an alternation)."""
    low = text.lower()
    return _PATTERNS if ("box" in low or "position" in low) else _PATTERNS[1:]


def _first_match(text: str) -> re.Match | None:
    for pattern in _patterns_for(text):
        match = pattern.search(text)
        if match:
            return match
    return None


def parse_box(text: str) -> Box | None:
    """The first box in `text` in the most specific shape present, or None."""
    match = _first_match(text)
    return _to_box(match.groups()) if match else None


def parse_boxes(text: str, limit: int = MAX_BOXES + 1) -> list[Box | None]:
    """All boxes in the most specific shape present (at most `limit`; None = non-finite)."""
    for pattern in _patterns_for(text):
        found = []
        for match in pattern.finditer(text):
            found.append(_to_box(match.groups()))
            if len(found) >= limit:
                break
        if found:
            return found
    return []


def parse_scored_boxes(text: str, limit: int = MAX_BOXES + 1) -> list[tuple[Box | None, float]]:
    """Boxes with confidences, e.g. `[{'Position': [..], 'Confidence': 0.9}, ...]`.

    Each `{...}` object holding a box gives one prediction; its `confidence` / `score`
    (default 1.0) is read from the same object. Without such objects, every box found by
    `parse_boxes` gets confidence 1.0.
    """
    scored = []
    for obj in _OBJECT.finditer(text):
        match = _first_match(obj.group(0))
        if match is None:
            continue
        conf = _CONFIDENCE.search(obj.group(0))
        value = float(conf.group(1)) if conf else 1.0
        scored.append((_to_box(match.groups()), value if math.isfinite(value) else 0.0))
        if len(scored) >= limit:
            return scored
    return scored or [(box, 1.0) for box in parse_boxes(text, limit)]


def _scales_original(orig: Size | None, inp: Size | None) -> tuple[float, float] | None:
    return (1.0, 1.0)


def _scales_grid(orig: Size | None, inp: Size | None) -> tuple[float, float] | None:
    return (orig[0] / 1000.0, orig[1] / 1000.0) if orig else None


def _scales_normalized(orig: Size | None, inp: Size | None) -> tuple[float, float] | None:
    return (orig[0], orig[1]) if orig else None


def _scales_input(orig: Size | None, inp: Size | None) -> tuple[float, float] | None:
    return (orig[0] / inp[0], orig[1] / inp[1]) if orig and inp else None


_SCALES: dict[str, Callable[[Size | None, Size | None], tuple[float, float] | None]] = {
    "original_pixels": _scales_original,
    "grid1000": _scales_grid,
    "normalized": _scales_normalized,
    "input_pixels": _scales_input,
}


def to_original_pixels(box: Box, convention: str, original_size: Size | None,
                       input_size: Size | None = None) -> Box | None:
    """Map a box from `convention` (see context.py) to original-image pixels.

    None when the conversion needs a size that is unknown. `input_size` defaults to the
    original size (a model that saw the image unresized).
    """
    if convention not in _SCALES:
        raise ValueError(f"unknown box convention {convention!r}; known: {', '.join(_SCALES)}")
    scales = _SCALES[convention](original_size, input_size or original_size)
    if scales is None:
        return None
    sx, sy = scales
    return [box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy]


def from_original_pixels(box: Box, convention: str, original_size: Size,
                         input_size: Size | None = None) -> Box:
    """The inverse of `to_original_pixels`: an original-pixel box written in `convention`."""
    if convention not in _SCALES:
        raise ValueError(f"unknown box convention {convention!r}; known: {', '.join(_SCALES)}")
    sx, sy = _SCALES[convention](original_size, input_size or original_size)
    return [box[0] / sx, box[1] / sy, box[2] / sx, box[3] / sy]


def clean_box(box: Box | None, size: Size | None = None) -> Box | None:
    """Reorder swapped corners, clip to the image (if size known); None if empty/non-finite."""
    if box is None or len(box) != 4 or not all(math.isfinite(v) for v in box):
        return None
    x1, x2 = sorted(box[0::2])
    y1, y2 = sorted(box[1::2])
    if size is not None:
        w, h = size
        x1, x2 = min(max(x1, 0.0), w), min(max(x2, 0.0), w)
        y1, y2 = min(max(y1, 0.0), h), min(max(y2, 0.0), h)
    if x2 - x1 <= 0 or y2 - y1 <= 0:
        return None
    return [x1, y1, x2, y2]


def _area(b: Box) -> float:
    return max(b[2] - b[0], 0.0) * max(b[3] - b[1], 0.0)


def _intersection(a: Box, b: Box) -> float:
    return _area([max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])])


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two ordered boxes, in [0, 1]; 0 if the union is empty."""
    inter = _intersection(a, b)
    union = _area(a) + _area(b) - inter
    return inter / union if union > 0 else 0.0


def box_giou(a: Box, b: Box) -> float:
    """Generalised IoU (Rezatofighi et al. 2019), in [-1, 1]: IoU - (C - U) / C.

    C is the area of the smallest box enclosing both, so a miss far away scores lower
    than a near miss: the gradient signal the LISA runs rely on.
    """
    inter = _intersection(a, b)
    union = _area(a) + _area(b) - inter
    hull = _area([min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])])
    if union <= 0 or hull <= 0:
        return 0.0
    return inter / union - (hull - union) / hull
