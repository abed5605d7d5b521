"""CV-Bench (nyu-visionx/CV-Bench via data_prep.cvbench): accuracy per task and total.

Protocol (VisualThinker-R1-Zero, whose numbers the GPG paper reports): R1 answer tags,
greedy, 1024 new tokens; right when the committed option matches (the letter or the
option's text); `accuracy` is the total over all items (not the mean of tasks),
`accuracy/<Task>` per task (Count, Relation, Depth, Distance), `accuracy/<2D|3D>` per type.
"""

from ..registry import register_benchmark
from ..scoring import accuracy, answer_items, by_group


def cvbench_metrics(rows: list[dict]) -> dict[str, float]:
    return {**accuracy(rows), **by_group(rows, "task"), **by_group(rows, "type")}


def cvbench_groups(record) -> dict[str, str]:
    return {"task": str(record.meta.get("task")), "type": str(record.meta.get("type"))}


register_benchmark("cvbench", data="cvbench/test.jsonl", template="r1", metrics=cvbench_metrics,
                   headline="accuracy", max_new_tokens=1024, groups=cvbench_groups,
                   description="CV-Bench test: accuracy per task and total")(answer_items)
