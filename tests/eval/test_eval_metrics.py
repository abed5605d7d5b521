"""Metric arithmetic on known completions, independent of any model: the item scorers (the
training reward rules underneath) and the per-benchmark aggregations, against values
worked out by hand in the comments."""

from __future__ import annotations

import pytest

from eval import benchmarks  # noqa: F401
from eval.registry import get_benchmark
from eval.results import markdown_table
from eval.runner import sample_row
from eval.scoring import answer_items, by_group, grounding_items, percent
from gpg_vl.data.record import Record
from gpg_vl.rewards import RewardContext


def rec(task, answer, choices=None, size=(100, 50), **meta) -> Record:
    return Record(id="x", task=task, images=["unused.png"], problem="q", answer=answer, choices=choices,
                  meta={"image_size": list(size), **meta})


def rows_of(items, groups=None) -> list[dict]:
    return [{"id": str(i), "score": it.score, "values": it.values, "groups": (groups or [{}] * len(items))[i]}
            for i, it in enumerate(items)]


# Image 100 x 50, true box [10, 10, 50, 30] (area 40 * 20 = 800). Qwen2-VL writes a
# 0..1000 grid: x_px = x / 10, y_px = y / 20.
GROUNDING = [
    ("<answer>(100,200),(500,600)</answer>", [10, 10, 50, 30], 1.0),       # exact
    ("<answer>[300, 200, 700, 600]</answer>", [30, 10, 70, 30], 1 / 3),    # inter 20*20=400, union 1200
    ("<answer>(100,200),(500,1000)</answer>", [10, 10, 50, 50], 0.5),      # inter 800, union 1600: NOT a hit
    ("I cannot see it.", None, 0.0),                                       # no box: IoU 0
    ('<answer>{"bbox_2d": [100, 200, 500, 520]}</answer>', [10, 10, 50, 26], 0.8),  # inter 640 / union 800
]


def test_grounding_items_iou_hit_and_parsed_box_qwen2_vl_grid():
    texts = [t for t, _, _ in GROUNDING]
    records = [rec("grounding", [10, 10, 50, 30]) for _ in texts]
    items = grounding_items(texts, records, RewardContext(model_family="qwen2_vl"))
    assert [it.values["iou"] for it in items] == pytest.approx([iou for _, _, iou in GROUNDING])
    assert [it.values["hit"] for it in items] == [1.0, 0.0, 0.0, 0.0, 1.0]   # IoU > 0.5, strictly
    assert [it.parsed for it in items] == [box for _, box, _ in GROUNDING]
    bench = get_benchmark("refcoco_val").metrics(rows_of(items))
    assert bench == pytest.approx({"accuracy": 40.0,                              # 2 hits of 5
                                   "miou": 100 * (1 + 1 / 3 + 0.5 + 0 + 0.8) / 5})  # 52.667
    lisa = get_benchmark("lisa_test").metrics(rows_of(items))
    assert lisa["miou"] == pytest.approx(52.6667, abs=1e-3) and get_benchmark("lisa_test").headline == "miou"


def test_grounding_qwen2_5_vl_boxes_are_in_resized_input_pixels():
    # the model saw the 100 x 50 image as 200 x 100: its pixels are halved back
    ctx = RewardContext(original_sizes=[[(100, 50)]], input_sizes=[[(200, 100)]], model_family="qwen2_5_vl")
    item, = grounding_items(['{"bbox_2d": [20, 20, 100, 60]}'], [rec("grounding", [10, 10, 50, 30])], ctx)
    assert item.parsed == [10, 10, 50, 30] and item.values == {"iou": 1.0, "hit": 1.0}


def test_answer_items_reuse_the_training_matcher_per_task():
    cases = [  # (record, completion, correct?)
        (rec("choice", "B", ["2", "3", "4"]), "<think>two</think><answer>B</answer>", 1.0),
        (rec("choice", "B", ["2", "3", "4"]), "<answer>(C)</answer>", 0.0),
        (rec("choice", "B", ["2", "3", "4"]), "<answer>3</answer>", 1.0),          # option text
        (rec("choice", "B", ["2", "3", "4"]), "<answer>A or B</answer>", 0.0),     # hedging
        (rec("math", "140°"), "<answer>140</answer>", 1.0),
        (rec("math", "2 \\sqrt { 221 }"), "so \\boxed{2\\sqrt{221}}", 1.0),
        (rec("math", "0.33", precision=2.0), "<answer>0.333</answer>", 1.0),       # MathVista precision
        (rec("count", 4), "<answer>four</answer>", 1.0),
        (rec("count", 4), "<answer>3 or 4</answer>", 0.0),
        (rec("classification", "globe thistle"), "<answer>Globe_Thistle</answer>", 1.0),
        (rec("classification", "globe thistle"), "<answer>globe thistle or rose</answer>", 0.0),  # strict
    ]
    items = answer_items([c for _, c, _ in cases], [r for r, _, _ in cases], RewardContext())
    assert [it.score for it in items] == [want for _, _, want in cases]
    assert items[0].parsed == "B" and items[5].parsed == "2\\sqrt{221}"


def test_cvbench_total_is_over_items_and_tasks_are_separate():
    correct = [1, 0, 1, 0, 0, 1]
    groups = [{"task": "Count", "type": "2D"}, {"task": "Count", "type": "2D"}, {"task": "Relation", "type": "2D"},
              {"task": "Depth", "type": "3D"}, {"task": "Depth", "type": "3D"}, {"task": "Depth", "type": "3D"}]
    rows = [{"values": {"correct": float(c)}, "groups": g} for c, g in zip(correct, groups)]
    assert get_benchmark("cvbench").metrics(rows) == pytest.approx({
        "accuracy": 50.0,                                     # 3 of 6 items (not the mean of tasks, 61.1)
        "accuracy/Count": 50.0, "accuracy/Relation": 100.0, "accuracy/Depth": 100 / 3,
        "accuracy/2D": 200 / 3, "accuracy/3D": 100 / 3})


def test_mathvista_groups_and_published_prompt():
    bench = get_benchmark("mathvista_testmini")
    record = rec("choice", "C", ["97", "102", "107"], query="Hint: ...\nQuestion: What is AB?\nChoices:\n(A) 97",
                 question_type="multi_choice")
    assert bench.prepare(record).problem.startswith("Hint: ...") and bench.groups(record) == {"question_type": "multi_choice"}
    assert bench.prepare(rec("math", "3")).problem == "q"       # no query: the question as is
    rows = [{"values": {"correct": c}, "groups": {"question_type": q}}
            for c, q in [(1.0, "multi_choice"), (0.0, "free_form"), (1.0, "free_form"), (1.0, "free_form")]]
    assert bench.metrics(rows) == pytest.approx({"accuracy": 75.0, "accuracy/free_form": 200 / 3,
                                                 "accuracy/multi_choice": 100.0})


def test_fewshot_reports_per_class_accuracy_and_the_labels_predicted():
    """A policy that never answers "rose": its accuracy and its predicted share are both 0."""
    cases = [("daisy", "<answer>daisy</answer>"), ("daisy", "<answer>Daisy.</answer>"),
             ("daisy", "<answer>a sunflower</answer>"),                   # names no class: (other)
             ("rose", "<answer>daisy</answer>"), ("rose", "<answer>tulip</answer>"),
             ("tulip", "<answer>tulip</answer>"), ("tulip", "<answer>rose or tulip</answer>"),  # two labels: (other)
             ("tulip", "<answer></answer>")]                              # no answer: (none)
    records = [rec("classification", label) for label, _ in cases]
    items = answer_items([c for _, c in cases], records, RewardContext())
    rows = [sample_row(r, "q", c, it, {}) for r, (_, c), it in zip(records, cases, items)]
    assert get_benchmark("fewshot_flower102").metrics(rows) == pytest.approx({
        "accuracy": 37.5,                                                 # 3 of 8
        "accuracy/daisy": 200 / 3, "accuracy/rose": 0.0, "accuracy/tulip": 100 / 3,
        "predicted/daisy": 37.5,                                          # 2 right + 1 rose: 3 of 8
        "predicted/rose": 0.0, "predicted/tulip": 25.0,                   # 1 right + 1 rose: 2 of 8
        "predicted/(other)": 25.0, "predicted/(none)": 12.5})


def test_the_table_leaves_long_breakdowns_to_results_json():
    """102 classes would add 200 rows per checkpoint; CV-Bench's 3 tasks stay."""
    flowers = {"accuracy": 50.0, **{f"accuracy/class{i}": 50.0 for i in range(13)},
               **{f"predicted/class{i}": 7.0 for i in range(13)}}
    cv = {"accuracy": 40.0, "accuracy/Count": 30.0, "accuracy/Depth": 50.0, "accuracy/Relation": 40.0}
    results = {"ckpt": {"model": "m", "benchmarks": {
        "fewshot_flower102": {"n": 26, "headline": "accuracy", "metrics": flowers},
        "cvbench": {"n": 10, "headline": "accuracy", "metrics": cv}}}}
    table = markdown_table(results)
    assert "| fewshot_flower102 | accuracy | 50.00 (n=26) |" in table and "class" not in table
    assert "| cvbench | accuracy/Depth | 50.00 (n=10) |" in table


def test_percent_and_groups_of_nothing():
    assert percent([]) == 0.0 and by_group([], "task") == {}
