"""GeoQA test (R1-V's 754-question JSONL via data_prep.geoqa): accuracy.

Protocol (R1-V, which the GPG paper's GeoQA number follows): "final answer (number) in
<answer> </answer>", greedy; right when the answer is mathematically equal to the ground
truth (units and degree signs ignored), the training `answer_match` rule.
"""

from ..registry import register_benchmark
from ..scoring import accuracy, answer_items

register_benchmark("geoqa_test", data="geoqa/test.jsonl", template="r1_number", metrics=accuracy,
                   headline="accuracy", description="GeoQA test: accuracy")(answer_items)
