"""The training forward: per-token log-probs of sampled completions under the policy.

Row r of a micro-batch is [its group's prompt (left-padded) | its completion], with the
group's pixel values indexed from the PromptBatch (computed once per prompt). Logits are
kept only for the completion positions (`logits_to_keep`), divided by the sampling
temperature, and the suppressed ids are masked exactly as in sampling, so the policy
being trained is the one that generated the rollout.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .rollout.batch import RolloutBatch


def micro_batches(batch: RolloutBatch, max_tokens: int) -> list[list[int]]:
    """Consecutive row chunks whose padded size (rows x (P + C)) stays under max_tokens."""
    width = batch.prompts.input_ids.shape[1] + batch.completion_ids.shape[1]
    rows_per = max(1, max_tokens // width)
    n = batch.completion_ids.shape[0]
    return [list(range(s, min(s + rows_per, n))) for s in range(0, n, rows_per)]


def completion_logprobs(model, batch: RolloutBatch, rows: list[int], temperature: float = 1.0,
                        suppress_ids: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """(logprobs [n, C], mask [n, C]) for these rows; C trimmed to the longest completion."""
    device = next(model.parameters()).device
    groups = batch.group_index[rows].tolist()
    p = batch.prompts
    mask = batch.completion_mask[rows]
    C = max(1, int(mask.sum(dim=1).max()))
    comp, mask = batch.completion_ids[rows, :C], mask[:, :C]
    pixel_values, grid = p.vision_for(groups)
    inputs = dict(
        input_ids=torch.cat([p.input_ids[groups], comp], dim=1),
        attention_mask=torch.cat([p.attention_mask[groups], mask], dim=1),
        mm_token_type_ids=torch.cat([p.mm_token_type_ids[groups], torch.zeros_like(comp)], dim=1),
        pixel_values=pixel_values, image_grid_thw=grid)
    inputs = {k: v.to(device) for k, v in inputs.items()}
    logits = model(**inputs, logits_to_keep=C + 1, use_cache=False).logits[:, :-1]  # [n, C, V]
    logits = logits.float() / temperature
    if suppress_ids is not None and len(suppress_ids):
        logits[..., suppress_ids.to(device)] = float("-inf")
    comp = comp.to(device)
    logprobs = logits.gather(-1, comp.unsqueeze(-1)).squeeze(-1) - logits.logsumexp(dim=-1)
    mask = mask.to(device)
    logprobs = logprobs.masked_fill(mask == 0, 0.0)  # padding may be a suppressed id (-inf)
    return logprobs, mask.to(logprobs.dtype)
