"""The four few-shot classification test sets of Visual-RFT: Flower102, Pets37, FGVC
Aircraft, Cars196 (test images via data_prep.image_folder; 4-shot training sets via
data_prep.visual_rft_cls).

Protocol (Visual-RFT, which the GPG paper follows): R1 answer tags, greedy; right when the
<answer> label equals the true label after lower-casing and dropping spaces/underscores.
Strict equality, not Visual-RFT's containment ("A or B or C" would match every label).
Besides accuracy: accuracy/<class> and predicted/<label> (scoring.classification_accuracy),
so a policy that never answers some classes shows it in the numbers.
"""

from ..registry import register_benchmark
from ..scoring import answer_items, classification_accuracy

SETS = {
    "fewshot_flower102": "flower102/test.jsonl",
    "fewshot_pets37": "pets37/test.jsonl",
    "fewshot_aircraft": "fgvc_aircraft/test.jsonl",
    "fewshot_cars196": "cars196/test.jsonl",
}

for _name, _data in SETS.items():
    register_benchmark(_name, data=_data, template="r1", metrics=classification_accuracy, headline="accuracy",
                       description=f"{_name.split('_', 1)[1]} test: accuracy (strict label match), per class, predicted labels")(answer_items)
