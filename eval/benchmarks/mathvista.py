"""MathVista testmini (AI4Math/MathVista via data_prep.mathvista): accuracy per question type.

Protocol: the dataset's own ready-made prompt (`query`, kept in meta by the converter:
hint + question + lettered choices) with R1 answer tags, greedy, 1024 new tokens. Scoring
is the training rule, not MathVista's GPT answer extractor: multi_choice by option letter
(or option text), free_form by math equivalence within the record's `precision`.
"""

import dataclasses

from ..registry import register_benchmark
from ..scoring import accuracy, answer_items, by_group


def use_query(record):
    """The published prompt replaces the bare question when the record carries it."""
    query = record.meta.get("query")
    return dataclasses.replace(record, problem=query) if isinstance(query, str) and query.strip() else record


def mathvista_metrics(rows: list[dict]) -> dict[str, float]:
    return {**accuracy(rows), **by_group(rows, "question_type")}


register_benchmark("mathvista_testmini", data="mathvista/testmini.jsonl", template="r1",
                   metrics=mathvista_metrics, headline="accuracy", max_new_tokens=1024,
                   groups=lambda r: {"question_type": str(r.meta.get("question_type"))},
                   prepare=use_query,
                   description="MathVista testmini: accuracy per question type and overall")(answer_items)
