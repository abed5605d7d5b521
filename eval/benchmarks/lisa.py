"""LISA grounding test (VLM-R1's lisa_test.json via data_prep.lisa): mIoU.

Protocol (Visual-RFT's LISA runs, which the GPG paper follows): the model answers with
one box, `(x1,y1),(x2,y2)`; the metric is the mean box IoU over all items, an item
without a parseable box counting 0. Accuracy (IoU > 0.5) is reported alongside.
"""

from ..registry import register_benchmark
from ..scoring import grounding_items, grounding_miou

TEMPLATE = ("{question} Output the thinking process in <think> </think> and the bounding box "
            "in <answer> </answer> tags, as <answer>(x1,y1),(x2,y2)</answer>.")

register_benchmark("lisa_test", data="lisa/test.jsonl", template=TEMPLATE, metrics=grounding_miou,
                   headline="miou", description="LISA test: mIoU (0 for no box)")(grounding_items)
