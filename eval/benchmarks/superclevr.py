"""SuperCLEVR counting (R1-V's 200-question test JSONL via data_prep.superclevr): accuracy.

Protocol (R1-V): "final answer (number) in <answer> </answer>", greedy; right when the
answer states exactly the true count (digits or words; two different counts is wrong).
"""

from ..registry import register_benchmark
from ..scoring import accuracy, answer_items

register_benchmark("superclevr_test", data="superclevr/test.jsonl", template="r1_number",
                   metrics=accuracy, headline="accuracy",
                   description="SuperCLEVR counting: accuracy")(answer_items)
