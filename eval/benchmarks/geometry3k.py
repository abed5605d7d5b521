"""Geometry3K test (hiyouga/geometry3k via data_prep.geometry3k): accuracy.

Protocol (EasyR1's geometry3k recipe): reason in <think> </think>, answer in \\boxed{},
greedy, 1024 new tokens; right when the boxed answer is mathematically equal to `answer`.
"""

from ..registry import register_benchmark
from ..scoring import accuracy, answer_items

register_benchmark("geometry3k_test", data="geometry3k/test.jsonl", template="boxed", metrics=accuracy,
                   headline="accuracy", max_new_tokens=1024,
                   description="Geometry3K test: accuracy")(answer_items)
