"""RolloutBatch: the one typed object passed from rollout to rewards to the loss.

Rows are prompt-major: row r belongs to group `group_index[r]` (= prompt index in
`prompts`), and the G rows of a group are consecutive. Each prompt's images live once
in `prompts.vision`; rows reach them through `prompts.vision_for`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from ..data.collator import PromptBatch, pad_stack as _pad_stack


@dataclass
class RolloutBatch:
    """B prompts x G completions.

    completion_ids, completion_mask: [B*G, C] right-padded; mask is 1 up to and
    including the EOS token. group_index: [B*G]. texts: decoded completions, EOS cut.
    sampling_logprobs: [B*G, C], each token's log-prob under the distribution it was drawn
    from (temperature applied, suppressed ids removed), 0 on padding; every engine fills it.
    stale: [B*G] bool, rows sampled by an earlier policy (carried groups).
    rewards: rule name -> [B*G]; reward_total and advantages: [B*G] (set after scoring).
    """

    prompts: PromptBatch
    group_size: int
    completion_ids: Tensor
    completion_mask: Tensor
    texts: list[str]
    sampling_logprobs: Tensor | None = None
    stale: Tensor | None = None
    rewards: dict[str, Tensor] = field(default_factory=dict)
    reward_total: Tensor | None = None
    advantages: Tensor | None = None

    @property
    def group_index(self) -> Tensor:
        return torch.arange(len(self.prompts)).repeat_interleave(self.group_size)

    @property
    def num_groups(self) -> int:
        return len(self.prompts)

    @property
    def stale_rows(self) -> Tensor:
        """[B*G] bool: rows an earlier policy sampled."""
        return torch.zeros(self.completion_ids.shape[0], dtype=torch.bool) if self.stale is None else self.stale

    def row_records(self) -> list:
        return [self.prompts.records[g] for g in self.group_index.tolist()]

    def select_groups(self, groups: list[int]) -> "RolloutBatch":
        """A new batch holding only these groups, in this order (images indexed, not redone)."""
        G = self.group_size
        rows = torch.tensor([g * G + i for g in groups for i in range(G)], dtype=torch.long)
        prompts = self.prompts.select(groups)
        return RolloutBatch(
            prompts=prompts, group_size=G, completion_ids=self.completion_ids[rows],
            completion_mask=self.completion_mask[rows], texts=[self.texts[r] for r in rows.tolist()],
            sampling_logprobs=None if self.sampling_logprobs is None else self.sampling_logprobs[rows],
            stale=self.stale_rows[rows],
            rewards={k: v[rows] for k, v in self.rewards.items()},
            reward_total=None if self.reward_total is None else self.reward_total[rows],
            advantages=None if self.advantages is None else self.advantages[rows])

    @staticmethod
    def cat(batches: list["RolloutBatch"], pad_token_id: int) -> "RolloutBatch":
        """Concatenate batches from different rollouts (re-padding prompts and completions)."""
        if len(batches) == 1:
            return batches[0]
        prompts = PromptBatch.cat([b.prompts for b in batches], pad_token_id)

        def cat_opt(tensors):
            return None if any(t is None for t in tensors) else torch.cat(tensors)

        return RolloutBatch(
            prompts=prompts, group_size=batches[0].group_size,
            completion_ids=_pad_stack([b.completion_ids for b in batches], pad_token_id, left=False),
            completion_mask=_pad_stack([b.completion_mask for b in batches], 0, left=False),
            texts=[t for b in batches for t in b.texts],
            sampling_logprobs=None if any(b.sampling_logprobs is None for b in batches) else
            _pad_stack([b.sampling_logprobs for b in batches], 0.0, left=False),
            stale=torch.cat([b.stale_rows for b in batches]),
            rewards={k: torch.cat([b.rewards.get(k, torch.full((b.completion_ids.shape[0],), float("nan")))
                                   for b in batches])  # NaN: a rule of a task these rows are not
                     for k in dict.fromkeys(k for b in batches for k in b.rewards)},
            reward_total=cat_opt([b.reward_total for b in batches]),
            advantages=cat_opt([b.advantages for b in batches]))
