"""Scoring a rollout: every row against its own record, with its own image sizes.

    score_batch(rewards, batch, "qwen2_vl")   # sets batch.rewards and batch.reward_total

One function for the trainer, the probe and eval, so the three read a completion alike
(which box convention, which image each row saw).
"""

from __future__ import annotations

from .context import RewardContext


def row_context(prompts, groups: list[int], model_family: str) -> RewardContext:
    """The RewardContext of rows whose prompts are `groups` (row r asked prompt groups[r])."""
    return RewardContext(original_sizes=[prompts.original_sizes[g] for g in groups],
                         input_sizes=[prompts.input_sizes[g] for g in groups],
                         model_family=model_family)


def score_batch(rewards, batch, model_family: str) -> None:
    """Score a RolloutBatch's B*G texts with a RewardStack or TaskRewards.

    Sets batch.rewards (rule -> [B*G] float32; NaN where a rule belongs to another row's
    task) and batch.reward_total ([B*G] float32, the weighted sum).
    """
    import torch  # here only: the rules and `python -m gpg_vl.rewards` stay plain Python

    ctx = row_context(batch.prompts, batch.group_index.tolist(), model_family)
    scores, totals = rewards.score(batch.texts, batch.row_records(), ctx)
    batch.rewards = {k: torch.tensor(v, dtype=torch.float32) for k, v in scores.items()}
    batch.reward_total = torch.tensor(totals, dtype=torch.float32)
