"""TaskRewards: one run, several tasks, each row scored by its own task's stack."""

from __future__ import annotations

import pytest

from gpg_vl.rewards import RewardContext
from gpg_vl.rewards.answer_rules import UNPARSED_GOLD
from gpg_vl.rewards.tasks import TaskRewards
from rewards_helpers import rec

BY_TASK = {"grounding": {"weights": {"iou": 1.0, "format": 1.0}},
           "math": {"weights": {"answer_match": 1.0, "format": 0.5}, "args": {"answer_match": {"extract": "auto"}}}}


def test_rows_go_to_their_task_stack_and_come_back_in_order():
    rewards = TaskRewards.from_config(BY_TASK)
    records = [rec("math", "8√{3}"), rec("grounding", [0, 0, 10, 10]), rec("math", "AC=BC")]
    texts = ["<think>a</think><answer>8\\sqrt{3}</answer>",
             "<think>a</think><answer>[0, 0, 10, 10]</answer>",
             "<answer>AC=BC</answer>"]                       # right, no format: 1 + 0.5 * 0
    ctx = RewardContext([[(100, 100)]] * 3, [[(100, 100)]] * 3)
    out = rewards(texts, records, ctx)
    assert out.rows == {"grounding": [1], "math": [0, 2]}
    assert out.scores == {"grounding/iou": [1.0], "grounding/format": [1.0],
                          "math/answer_match": [1.0, 1.0], "math/format": [1.0, 0.0]}
    assert out.totals == [1.5, 2.0, 1.0]
    metrics = rewards.metrics(out)
    assert metrics["reward/math/answer_match"] == 1.0 and metrics["reward/math/format"] == 0.5
    assert metrics["reward/math/total"] == 1.25 and metrics["reward/grounding/total"] == 2.0
    assert metrics["reward/math/answer_match_unparsed_gold"] == 0.5   # "AC=BC" is no whole maths
    assert metrics["reward/total"] == pytest.approx(1.5)
    assert metrics["reward_errors/math/answer_match"] == 0.0


def test_missing_tasks_are_listed_and_refused():
    rewards = TaskRewards.from_config(BY_TASK)
    records = [rec("math", "3"), rec("count", 3), rec("choice", "B", ["1", "2"])]
    assert rewards.missing_tasks(records) == ["choice", "count"]
    with pytest.raises(ValueError, match="no reward stack for task.*choice, count.*has: grounding, math"):
        rewards(["3"] * 3, records, RewardContext())


def test_a_rule_that_raises_costs_only_its_rows():
    rewards = TaskRewards.from_config({"math": {"weights": {"answer_match": 1.0}},
                                       "count": {"weights": {"count": 1.0}}})
    out = rewards(["<answer>3</answer>", None], [rec("math", "3"), rec("count", 3)], RewardContext())
    assert out.totals == [1.0, 0.0]


@pytest.mark.parametrize("by_task, message", [
    ({}, "map task names"),
    ({"math": {"answer_match": 1.0}}, "expected {weights"),
    ({"math": {"weights": {"answer_match": 1.0}, "wieghts": {}}}, "unknown key.*wieghts"),
    ({"math": {"weights": {"answr_match": 1.0}}}, "by_task.math: unknown reward 'answr_match'"),
    ({"math": {"weights": {"answer_match": 1.0}, "args": {"answer_match": {"mode": "fuzzy"}}}}, "by_task.math"),
])
def test_bad_config_fails_naming_the_task(by_task, message):
    with pytest.raises(ValueError, match=message):
        TaskRewards.from_config(by_task)


def test_unparsed_gold_counter_is_shared_with_the_rule():
    from gpg_vl.rewards import get_reward
    assert get_reward("answer_match").counters is UNPARSED_GOLD


def test_stack_logs_the_unparsed_gold_fraction():
    from gpg_vl.rewards import RewardStack
    stack = RewardStack.from_config({"answer_match": 1.0})
    records = [rec("math", "AC=BC"), rec("math", "8√{3}"), rec("math", "6cm或8cm"), rec("math", "3")]
    scores = stack(["<answer>AC=BC</answer>", "<answer>8</answer>", "<answer>6cm</answer>", "<answer>3</answer>"],
                   records, RewardContext())
    assert scores["answer_match"] == [1.0, 0.0, 0.0, 1.0]      # text match only; never a prefix
    assert stack.metrics(scores)["reward/answer_match_unparsed_gold"] == 0.5
