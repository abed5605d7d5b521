"""Reward rules for GPG training: a registry, the built-in rules, and a weighted stack.

    from gpg_vl.rewards import RewardContext, RewardStack
    stack = RewardStack.from_config({"iou": 1.0, "format": 1.0})
    scores = stack(completions, records, RewardContext(original_sizes, input_sizes, "qwen2_5_vl"))
    totals = stack.total(scores)                      # weighted sum per completion
    by_task = TaskRewards.from_config({"math": {"weights": {"answer_match": 1.0}}, ...})
    out = by_task(completions, records, ctx)          # each row by its task's stack (tasks.py)
    score_batch(stack, rollout_batch, "qwen2_vl")     # a RolloutBatch's rows: rewards, reward_total

Built-in rules (one signature, see registry.py): format, format_boxed, iou, giou (GIoU+1,
in [0, 2]), iou_hit, detection, answer_match, count. Building blocks the eval package
reuses: boxes.py (parse_box, to_original_pixels, clean_box, box_iou, box_giou) and
answers.py (extract_answer, normalize_label, label_match, choice_letter, parse_number,
parse_count, math_equal, normalize_math). What answer_match accepts: docs/rewards.md.
Try rules on examples with `python -m gpg_vl.rewards check`.
"""

from . import answer_rules, box_rules, format_rules  # noqa: F401  (register the built-ins)
from .context import CONVENTIONS, RewardContext, family_conventions
from .registry import RewardFn, RewardLookupError, get_reward, list_rewards, register_reward
from .scoring import row_context, score_batch
from .stack import RewardStack
from .tasks import TaskRewards, TaskScores, build_rewards

__all__ = ["RewardContext", "RewardFn", "RewardStack", "RewardLookupError", "register_reward",
           "get_reward", "list_rewards", "CONVENTIONS", "family_conventions", "TaskRewards",
           "TaskScores", "build_rewards", "row_context", "score_batch"]
