"""Item scorers and metric arithmetic, built on the training reward rules.

Evaluation and training must agree on what a right answer is, so nothing here parses or
matches on its own: IoU comes from the `iou` rule, right/wrong from `answer_match`, run
through a RewardStack (which turns a rule that raises into a 0 for that item, the same
"never raises on model output" contract as training). The only extra work is reading back
what the rule saw, for the report: the predicted box in original-image pixels, or the
extracted answer text, using the same functions from gpg_vl.rewards.boxes / answers.

Metrics are percentages (the unit peers report), computed from the per-sample rows of the
samples file, so a resumed run and a fresh run give the same table.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from functools import lru_cache
from typing import Any

from gpg_vl.rewards import RewardContext, RewardStack
from gpg_vl.rewards.answers import extract_answer, label_match, normalize_label
from gpg_vl.rewards.box_rules import predicted_box as scored_box

from .registry import Item

HIT_IOU = 0.5
"""RefCOCO accuracy counts a hit when IoU > 0.5 (strictly), as VLM-R1 and the GPG paper do."""
MAX_PARSED_CHARS = 300


@lru_cache(maxsize=None)
def _stack(rule: str) -> RewardStack:
    return RewardStack.from_config({rule: 1.0})


def rule_scores(rule: str, completions: list[str], records: list, ctx: RewardContext) -> list[float]:
    """Scores of one training reward rule, never raising on model output."""
    return _stack(rule)(completions, records, ctx)[rule]


def predicted_box(text: str, ctx: RewardContext, i: int, record: Any) -> list[float] | None:
    """The box the `iou` rule compares, in original-image pixels (None if it found none)."""
    box = scored_box(text, ctx, i, record)
    return [round(v, 2) for v in box] if box is not None else None


def answer_text(text: str) -> str:
    """The answer `answer_match` reads from a completion, as the report shows it (its tail)."""
    return extract_answer(text)[-MAX_PARSED_CHARS:]


def read_back(text: str, ctx: RewardContext, i: int, record: Any) -> Any:
    """What the rules read from a completion: the predicted box (original pixels) for a
    grounding record, else the answer text."""
    return predicted_box(text, ctx, i, record) if record.task == "grounding" else answer_text(text)


def grounding_items(completions: list[str], records: list, ctx: RewardContext) -> list[Item]:
    """IoU with the record's box (0 without a parseable box) and hit = IoU > 0.5."""
    ious = rule_scores("iou", completions, records, ctx)
    return [Item(score=iou, values={"iou": iou, "hit": float(iou > HIT_IOU)},
                 parsed=predicted_box(text, ctx, i, record))
            for i, (text, record, iou) in enumerate(zip(completions, records, ious))]


def answer_items(completions: list[str], records: list, ctx: RewardContext) -> list[Item]:
    """1/0 by `answer_match` (choice letter, label, math equivalence or count, by task)."""
    correct = rule_scores("answer_match", completions, records, ctx)
    return [Item(score=c, values={"correct": c}, parsed=answer_text(text))
            for text, c in zip(completions, correct)]


# --- metric arithmetic over sample rows --------------------------------------------------

def percent(values: list[float]) -> float:
    """Mean as a percentage; 0.0 for no values (a benchmark with no items scores nothing)."""
    return 100.0 * sum(values) / len(values) if values else 0.0


def means(rows: list[dict], spec: dict[str, str]) -> dict[str, float]:
    """{metric: percent of row values[key]} for each metric -> key in `spec`."""
    return {metric: percent([r["values"][key] for r in rows]) for metric, key in spec.items()}


def by_group(rows: list[dict], group: str, key: str = "correct", name: str = "accuracy") -> dict[str, float]:
    """`name/<label>`: percent of values[key] within each label of groups[group]."""
    buckets: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        buckets[str(r.get("groups", {}).get(group))].append(r["values"][key])
    return {f"{name}/{label}": percent(v) for label, v in sorted(buckets.items())}


def accuracy(rows: list[dict]) -> dict[str, float]:
    return means(rows, {"accuracy": "correct"})


NO_ANSWER, OTHER_LABEL = "(none)", "(other)"
"""predicted/ buckets of an empty answer, and of one naming none of the classes (or several)."""


def predicted_class(row: dict, classes: list[str]) -> str:
    """The class a sample row's answer names (label_match, strict: the training matcher),
    NO_ANSWER or OTHER_LABEL."""
    answer = row.get("parsed") or ""
    if not normalize_label(answer):
        return NO_ANSWER
    if row["values"]["correct"]:
        return str(row["answer"])
    return next((c for c in classes if label_match(answer, c)), OTHER_LABEL)


def classification_accuracy(rows: list[dict]) -> dict[str, float]:
    """accuracy; accuracy/<class> per true class; predicted/<label>: percent of items whose
    answer names each class (plus (other) and (none)). A policy collapsed onto a few labels
    shows as classes at 0 in both."""
    classes = sorted({str(r["answer"]) for r in rows})
    per_class = by_group([{**r, "groups": {"class": str(r["answer"])}} for r in rows], "class")
    counts = Counter(predicted_class(r, classes) for r in rows)
    shares = {f"predicted/{label}": 100.0 * counts[label] / len(rows) if rows else 0.0
              for label in classes + [OTHER_LABEL, NO_ANSWER]}
    return {**accuracy(rows), **per_class, **shares}


def grounding_accuracy(rows: list[dict]) -> dict[str, float]:
    """RefCOCO: accuracy (IoU > 0.5), with mIoU alongside."""
    return means(rows, {"accuracy": "hit", "miou": "iou"})


def grounding_miou(rows: list[dict]) -> dict[str, float]:
    """LISA: mIoU (mean IoU, 0 for an unparseable answer), with accuracy alongside."""
    return means(rows, {"miou": "iou", "accuracy": "hit"})
