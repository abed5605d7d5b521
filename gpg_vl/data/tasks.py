"""What a record's answer must be for its task, checked at load before any model work.

A grounding record whose box lies outside its image trains for nothing: every completion
scores 0 and no reward error is ever counted. So each record is checked against its task:

| task           | answer must be                                                        |
| -------------- | --------------------------------------------------------------------- |
| grounding      | [x1, y1, x2, y2]: 4 finite numbers, x1 < x2, y1 < y2, inside the first |
|                | image within `box_tolerance` px (closer overshoots are clipped;       |
|                | `clip_boxes` clips any overshoot instead of refusing the record)      |
| detection      | a list of such boxes (empty = nothing to find)                        |
| count          | a non-negative integer (or a string of digits)                        |
| choice         | a letter (`B` or `(B)`) within its `choices`, or one option's text    |
| math           | a non-empty string or number; a warning when it parses neither as a  |
|                | number nor as LaTeX (only exact text would then score)                |
| classification | a non-empty label string                                              |

Other task names are accepted unchecked (plug-in rewards may define their own tasks).
A reward rule that declares the tasks it scores (`rewards.registry.reward_tasks`) refuses
records of any other task: `iou` on a classification record would score 0 forever.
`fit_box` is also the converters' box check (data_prep/fields.py), so the two agree.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import Any

from .record import Record, RecordError

BOX_TOLERANCE_PX = 2.0
"""COCO boxes overshoot their image by a pixel or so after float rounding; those are clipped."""
BOX_TASKS = ("grounding", "detection")
KNOWN_TASKS = ("grounding", "detection", "classification", "math", "count", "choice")
_LETTER = re.compile(r"^\(?\s*([A-Za-z])\s*\)?\.?$")
# In a problem these desynchronise image tokens and image features ("Image features and
# image tokens do not match"); the template places the image tokens itself. The default is
# Qwen's; a run checks its own family's never-sampled tokens (SmolVLM's `<image>`, ...).
VISION_TOKENS = ("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>")


class BoxError(ValueError):
    """A box that is not [x1, y1, x2, y2] inside its image; `reason` buckets it."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class TaskChecks:
    """How strictly answers are checked, and which reward rules will score the records."""

    box_tolerance: float = BOX_TOLERANCE_PX
    clip_boxes: bool = False
    rewards: tuple[str, ...] = ()
    by_task: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (task, its rules): rewards.by_task
    vision_tokens: tuple[str, ...] = VISION_TOKENS  # the model family's, where it is known

    def rules_for(self, task: str) -> tuple[str, ...] | None:
        """The rules that will score a record of `task`; None when rewards.by_task has no stack for it."""
        if not self.by_task:
            return self.rewards
        return dict(self.by_task).get(task)


def task_checks(cfg) -> TaskChecks:
    """The checks a run's config asks for (data.box_tolerance, data.clip_boxes, its reward rules)."""
    by_task = tuple((str(t), tuple((spec or {}).get("weights") or {})) for t, spec in cfg.rewards.by_task.items())
    return TaskChecks(cfg.data.box_tolerance, cfg.data.clip_boxes, tuple(cfg.rewards.weights), by_task,
                      family_tokens(cfg.model))


def family_tokens(model) -> tuple[str, ...]:
    """The tokens a record's text must not hold: the model family's never-sampled tokens
    (from the checkpoint's config.json or model.build_tiny), Qwen's when it is not known yet."""
    from pathlib import Path

    from .. import families

    try:
        if (Path(model.path) / "config.json").is_file():
            return tuple(families.family_at(model.path).never_sample)
        if model.build_tiny:
            return tuple(families.get(model.build_tiny).never_sample)
    except families.UnknownFamily:
        pass  # preflight names the unknown model type
    return VISION_TOKENS


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def fit_box(box: Any, size: tuple[float, float] | None, tol: float = BOX_TOLERANCE_PX,
            clip: bool = False) -> list[float]:
    """`box` as [x1, y1, x2, y2] clipped to the (w, h) image, or BoxError saying what is wrong.

    Overshoots up to `tol` px are clipped; further ones fail unless `clip`. With no size
    only the shape is checked.
    """
    if not isinstance(box, (list, tuple)) or len(box) != 4 or not all(_is_number(v) for v in box):
        raise BoxError("bad answer", f"{box!r} is not a box [x1, y1, x2, y2] of 4 numbers")
    x1, y1, x2, y2 = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        raise BoxError("bad answer", f"{box!r} has a NaN or infinite coordinate")
    if x2 <= x1 or y2 <= y1:
        hint = " (is it [x, y, w, h]? records use [x1, y1, x2, y2])" if x2 > 0 and y2 > 0 else ""
        raise BoxError("degenerate box", f"{[x1, y1, x2, y2]} has no area: needs x1 < x2 and y1 < y2{hint}")
    if size is None:
        return [x1, y1, x2, y2]
    w, h = size
    if not clip and (x1 < -tol or y1 < -tol or x2 > w + tol or y2 > h + tol):
        hint = " (0..1000 grid coordinates? records hold original-image pixels)" if max(x2, y2) <= 1000 else ""
        raise BoxError("box outside image", f"{[x1, y1, x2, y2]} does not fit the {w:g}x{h:g} image "
                       f"(tolerance {tol:g} px){hint}")
    out = [round(min(max(v, 0.0), hi), 6) for v, hi in ((x1, w), (y1, h), (x2, w), (y2, h))]
    if out[2] <= out[0] or out[3] <= out[1]:
        raise BoxError("box outside image", f"{[x1, y1, x2, y2]} lies wholly outside the {w:g}x{h:g} image")
    return out


def _box_answer(answer: Any, size, checks: TaskChecks) -> tuple[Any, list[str]]:
    box = fit_box(answer, size, checks.box_tolerance, checks.clip_boxes)
    warnings = []
    if size and max(box) <= 1.0 and min(size) > 10:
        warnings.append(f"box {box} looks normalised to 0..1; records hold original-image pixels")
    same = all(float(a) == b for a, b in zip(answer, box))
    return (answer if same else box), warnings


def _grounding(record: Record, size, checks: TaskChecks) -> tuple[Any, list[str]]:
    return _box_answer(record.answer, size, checks)


def _detection(record: Record, size, checks: TaskChecks) -> tuple[Any, list[str]]:
    if not isinstance(record.answer, list):
        raise BoxError("bad answer", f"{record.answer!r} is not a list of boxes")
    boxes, warnings = [], []
    for k, box in enumerate(record.answer):
        try:
            fixed, warn = _box_answer(box, size, checks)
        except BoxError as err:
            raise BoxError(err.reason, f"box {k}: {err.detail}") from None
        boxes.append(fixed)
        warnings += warn[:1]
    return boxes, warnings[:1]


def _count(record: Record, size, checks: TaskChecks) -> tuple[Any, list[str]]:
    a = record.answer
    if isinstance(a, str) and a.strip().isdigit():
        return a, []
    if _is_number(a) and math.isfinite(a) and float(a).is_integer() and a >= 0:
        return a, []
    raise BoxError("bad answer", f"{a!r} is not a non-negative integer count")


def _choice(record: Record, size, checks: TaskChecks) -> tuple[Any, list[str]]:
    choices = record.choices or []
    if len(choices) < 2:
        raise BoxError("bad answer", "a choice record needs 'choices' with at least 2 options")
    text = str(record.answer).strip()
    m = _LETTER.match(text)
    if m and ord(m.group(1).upper()) - ord("A") < len(choices):
        return record.answer, []
    if text in (c.strip() for c in choices):
        return record.answer, []
    last = chr(ord("A") + len(choices) - 1)
    raise BoxError("bad answer", f"{record.answer!r} is neither a letter A-{last} of its "
                   f"{len(choices)} choices nor one option's text")


def _math(record: Record, size, checks: TaskChecks) -> tuple[Any, list[str]]:
    a = record.answer
    if _is_number(a):
        return a, []
    if not isinstance(a, str):
        raise BoxError("bad answer", f"{a!r} is not a math answer (a string or a number)")
    from ..rewards.mathequal import gold_parses  # the reward's own test of a gold

    return a, [] if gold_parses(a) else [f"math answer {a!r} parses as neither a number nor LaTeX: "
                                         "answer_match compares it as normalised text"]


def _classification(record: Record, size, checks: TaskChecks) -> tuple[Any, list[str]]:
    if not isinstance(record.answer, (str, int)) or isinstance(record.answer, bool):
        raise BoxError("bad answer", f"{record.answer!r} is not a label")
    return record.answer, []


_BY_TASK = {"grounding": _grounding, "detection": _detection, "count": _count, "choice": _choice,
            "math": _math, "classification": _classification}


def _fail(record: Record, field: str, detail: str, kind: str) -> RecordError:
    return RecordError(f"{record.where} (id={record.id}): field '{field}': {detail}", kind=kind)


def check_task(record: Record, checks: TaskChecks = TaskChecks()) -> list[str]:
    """Check `record` against its task and the reward rules; returns warnings, raises RecordError.

    Sizes come from `record.meta["original_sizes"]` (the loader reads them from the image
    files). A box clipped within tolerance (or by `clip_boxes`) replaces the answer.
    """
    from ..rewards.registry import can_score, reward_tasks

    for token in checks.vision_tokens:
        if token in record.problem:
            raise _fail(record, "problem", f"contains the vision token {token}; the template places image "
                        "tokens itself, so remove it", "problem")
    rules = checks.rules_for(record.task)
    if rules is None:
        raise _fail(record, "task", f"rewards.by_task has no stack for task '{record.task}' (it has: "
                    f"{', '.join(t for t, _ in checks.by_task)}); add one or drop these records", "reward/task")
    for rule in rules:
        if not can_score(rule, record.task):
            scores = ", ".join(sorted(t for t in reward_tasks(rule) if t != "*"))
            raise _fail(record, "task", f"reward '{rule}' cannot score task '{record.task}' (it scores: "
                        f"{scores}); change rewards.weights or the record's task", "reward/task")
    sizes = record.meta.get("original_sizes") or []
    size = tuple(sizes[0]) if sizes else None
    declared = record.meta.get("image_size")
    if record.task in BOX_TASKS and size and declared is not None and list(declared) != list(size):
        raise _fail(record, "meta.image_size", f"says {declared} but the image is {size[0]}x{size[1]}: boxes "
                    "are pixels of the image file, so they would be misplaced", "answer")
    check = _BY_TASK.get(record.task)
    if check is None:
        close = difflib.get_close_matches(record.task.lower(), KNOWN_TASKS, n=1, cutoff=0.75)
        return [f"{record.where} (id={record.id}): field 'task': {record.task!r} is not a known task "
                f"(did you mean {close[0]!r}?), so its answer is not checked"] if close else []
    try:
        record.answer, warnings = check(record, size, checks)
    except BoxError as err:
        raise _fail(record, "answer", f"{err.detail}", "answer") from None
    return [f"{record.where} (id={record.id}): field 'answer': {w}" for w in warnings]
