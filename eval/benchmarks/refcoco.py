"""RefCOCO / RefCOCO+ / RefCOCOg referring-expression grounding.

Records: data_prep.refcoco (lmms-lab parquet) or data_prep.vlm_r1_rec (VLM-R1 REC JSON),
written as DIR/<split>.jsonl with the box in original-image pixels.
Protocol (VLM-R1, which the GPG paper's grounding numbers follow): the REC prompt ("...
Output the final answer in JSON format."), greedy decoding, 256 new tokens, a hit when
IoU > 0.5; `--protocol peers` shuffles with seed 42 and keeps the first 2000 per split.
RefCOCOg (umd split) publishes val and test, not testA/testB.
"""

from ..registry import register_benchmark
from ..scoring import grounding_accuracy, grounding_items

SPLITS = {
    "refcoco": ("val", "testA", "testB"),
    "refcocop": ("val", "testA", "testB"),
    "refcocog": ("val", "test"),
}
PEER_SAMPLE = 2000

for _dataset, _splits in SPLITS.items():
    for _split in _splits:
        register_benchmark(f"{_dataset}_{_split}", data=f"{_dataset}/{_split}.jsonl", template="rec",
                           metrics=grounding_accuracy, headline="accuracy", peer_sample=PEER_SAMPLE,
                           description=f"{_dataset} {_split}: accuracy = IoU > 0.5")(grounding_items)
