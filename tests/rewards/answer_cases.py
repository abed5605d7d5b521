"""The table of realistic answer cases as scored completions, shared by the test and by
bench/answer_cases_report.py (which writes the figures in docs/rewards.md).

Each case becomes one completion in one of the layouts the Qwen VL families produce
(R1-style think/answer, spaced tags, a \\boxed{} after reasoning, a bare answer tag), with
reasoning that itself holds numbers and letters, so extraction is part of what is tested.
"""

from __future__ import annotations

from gpg_vl.data.record import Record

from cases_geo import GEOMETRY3K, GEOQA
from cases_more import (CHOICE_MORE, COUNT_MORE, GEOMETRY3K_MORE, GEOQA_MORE, LABELS_MORE,
                        MATHVISTA_MORE)
from cases_other import CHOICE, COUNT, LABELS, MATHVISTA
from cases_styles import CHOICE_STYLES, COUNT_STYLES, GEOQA_TEST_STYLE, LABEL_STYLES, MATH_STYLES

CATEGORIES = {  # name -> (cases, record task)
    "geoqa": (GEOQA + GEOQA_MORE + MATH_STYLES + GEOQA_TEST_STYLE, "math"),
    "geometry3k": (GEOMETRY3K + GEOMETRY3K_MORE, "math"),
    "mathvista_free": (MATHVISTA + MATHVISTA_MORE, "math"),
    "choice (MathVista, CV-Bench, SAT)": (CHOICE + CHOICE_MORE + CHOICE_STYLES, "choice"),
    "count (CLEVR, SuperCLEVR)": (COUNT + COUNT_MORE + COUNT_STYLES, "count"),
    "labels (flowers, pets, aircraft, cars)": (LABELS + LABELS_MORE + LABEL_STYLES, "classification"),
}
_REASONING = {
    "math": "In triangle ABC, AB = AC = 4 and the angle at A is 40°, so each base angle is 70°; "
            "by the Pythagorean theorem 3^2 + 4^2 = 5^2.",
    "choice": "Option A is 97 and option C is 107. Looking at point A and point C in the figure, "
              "the value is between them.",
    "count": "I see 2 red cubes, 1 blue sphere and maybe 4 cylinders behind them; count again.",
    "classification": "The petals are yellow, there are 2 leaves, it could be a daisy or a rose at first glance.",
}
_LAYOUTS = [
    "<think>{r}</think>\n<answer>{a}</answer>",
    "<think>\n{r}\n</think>\n\n<answer> {a} </answer>",
    "<think>{r}</think>\nSo the final answer is $\\boxed{{{a}}}$.",
    "<answer>{a}</answer>",
]


def completion(answer: str, task: str, k: int) -> str:
    """The k-th layout around `answer` (a \\boxed{} only for one-line answers)."""
    if "<answer>" in answer or "\\boxed" in answer:
        return answer
    layout = _LAYOUTS[k % len(_LAYOUTS)]
    if "\\boxed" in layout and ("\n" in answer or not answer.strip()):
        layout = _LAYOUTS[0]
    return layout.format(r=_REASONING[task], a=answer)


def scored_cases() -> list[tuple[str, str, Record, bool]]:
    """(category, completion, record, right?) for every case in the table."""
    out = []
    for category, (cases, task) in CATEGORIES.items():
        for k, case in enumerate(cases):
            gold, answer, verdict = case[:3]
            choices = case[3] if len(case) > 3 else None
            meta = case[4] if len(case) > 4 else {}
            record = Record(id=f"{category}-{k}", task=task, images=["img.png"], problem="q?",
                            answer=gold, choices=choices, meta=dict(meta or {}))
            out.append((category, completion(answer, task, k), record, bool(verdict)))
    return out


def tally(scores: list[float], cases) -> dict[str, dict[str, int]]:
    """Per category: right accepted / right, wrong rewarded / wrong."""
    out: dict[str, dict[str, int]] = {}
    for score, (category, _, _, right) in zip(scores, cases):
        row = out.setdefault(category, {"right": 0, "accepted": 0, "wrong": 0, "rewarded": 0})
        row["right" if right else "wrong"] += 1
        if score > 0:
            row["accepted" if right else "rewarded"] += 1
    return out
