"""The training forward: per-token log-probs of sampled completions under the policy.

Two layouts, one result. The packed one (`packed_logprobs`, layout in `packing.py`) runs
each prompt and its images once, followed by its group's completions under a
shared-prompt 4-D mask; the per-row one (`row_logprobs`) runs row r as [its group's
prompt (left-padded) | its completion]. `completion_logprobs` takes the packed layout
wherever the model supports it (Qwen2-VL / Qwen2.5-VL with SDPA or eager attention) and
says once, in the log, which path runs and why.

Either way logits are kept only where they predict a completion token, divided by the
sampling temperature, and the suppressed ids are masked exactly as in sampling, so the
policy being trained is the one that generated the rollout.
"""

from __future__ import annotations

import logging

import torch
from torch import Tensor

from .packing import attn_implementation, keeps_logits_at_mask, pack, shared_prompt_mask, unsupported_reason
from .rollout.batch import RolloutBatch

log = logging.getLogger(__name__)
_announced: set[tuple[str, str]] = set()  # (model class, path): log each choice once


def micro_batches(batch: RolloutBatch, max_tokens: int, packed: bool = False) -> list[list[int]]:
    """Consecutive row chunks of at most max_tokens tokens in the layout the forward runs.

    Per-row: rows x (P + C), padded. Packed: each group costs its real prompt tokens plus
    its completions' (length - 1), and a chunk of groups is padded to its longest; whole
    groups go together (each prompt and image runs once), and a group over the budget on
    its own is split into row chunks. Chunks hold whole groups whenever one fits.
    """
    if packed:
        return packed_micro_batches(batch, max_tokens)
    width = batch.prompts.input_ids.shape[1] + batch.completion_ids.shape[1]
    rows_per = max(1, max_tokens // width)
    if rows_per >= batch.group_size:
        rows_per -= rows_per % batch.group_size
    n = batch.completion_ids.shape[0]
    return [list(range(s, min(s + rows_per, n))) for s in range(0, n, rows_per)]


def packed_micro_batches(batch: RolloutBatch, max_tokens: int) -> list[list[int]]:
    G = batch.group_size
    prompt = batch.prompts.attention_mask.sum(dim=1).tolist()  # [B] real prompt tokens
    fed = (batch.completion_mask.sum(dim=1) - 1).clamp(min=0).tolist()  # [B*G] tokens each row adds
    chunks: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for g in range(len(prompt)):
        rows = list(range(g * G, (g + 1) * G))
        cost = prompt[g] + sum(fed[r] for r in rows)
        if current and (len(current) // G + 1) * max(longest, cost) > max_tokens:
            chunks.append(current)
            current, longest = [], 0
        if cost <= max_tokens:
            current, longest = current + rows, max(longest, cost)
            continue
        piece, size = [], prompt[g]  # one group alone is over budget: its rows in pieces
        for r in rows:
            if piece and size + fed[r] > max_tokens:
                chunks.append(piece)
                piece, size = [], prompt[g]
            piece, size = piece + [r], size + fed[r]
        chunks.append(piece)
    return chunks + ([current] if current else [])


def completion_logprobs(model, batch: RolloutBatch, rows: list[int], temperature: float = 1.0,
                        suppress_ids: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """(logprobs [n, C], mask [n, C]) for these rows; packed where the model allows it."""
    reason = unsupported_reason(model)
    path = "per-row" if reason else "packed"
    key = (type(getattr(model, "module", model)).__name__, path)
    if key not in _announced:
        _announced.add(key)
        if reason:
            log.info("training forward: per-row (each completion re-runs its prompt): %s", reason)
        else:
            log.info("training forward: shared-prompt packed (each prompt and image once per group)")
    fn = row_logprobs if reason else packed_logprobs
    return fn(model, batch, rows, temperature, suppress_ids)


def scaled_logits(logits: Tensor, temperature: float, suppress_ids: Tensor | None) -> Tensor:
    """[..., V] logits as sampling saw them: fp32, / temperature, suppressed ids at -inf."""
    logits = logits.float() / temperature
    if suppress_ids is not None and len(suppress_ids):
        logits[..., suppress_ids.to(logits.device)] = float("-inf")
    return logits


def trimmed(batch: RolloutBatch, rows: list[int]) -> tuple[Tensor, Tensor, int]:
    """(completion ids [n, C], mask [n, C], C) with C the longest completion among the rows."""
    mask = batch.completion_mask[rows]
    C = max(1, int(mask.sum(dim=1).max()))
    return batch.completion_ids[rows, :C], mask[:, :C], C


def row_logprobs(model, batch: RolloutBatch, rows: list[int], temperature: float = 1.0,
                 suppress_ids: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Per-row layout: (logprobs [n, C], mask [n, C]); each row repeats its prompt."""
    device = next(model.parameters()).device
    groups = batch.group_index[rows].tolist()
    p = batch.prompts
    comp, mask, C = trimmed(batch, rows)
    pixel_values, grid = p.vision_for(groups)
    inputs = dict(
        input_ids=torch.cat([p.input_ids[groups], comp], dim=1),
        attention_mask=torch.cat([p.attention_mask[groups], mask], dim=1),
        mm_token_type_ids=torch.cat([p.mm_token_type_ids[groups], torch.zeros_like(comp)], dim=1),
        pixel_values=pixel_values, image_grid_thw=grid)
    inputs = {k: v.to(device) for k, v in inputs.items()}
    logits = model(**inputs, logits_to_keep=C + 1, use_cache=False).logits[:, :-1]  # [n, C, V]
    logits = scaled_logits(logits, temperature, suppress_ids)
    comp, mask = comp.to(device), mask.to(device)
    logprobs = logits.gather(-1, comp.unsqueeze(-1)).squeeze(-1) - logits.logsumexp(dim=-1)
    logprobs = logprobs.masked_fill(mask == 0, 0.0)  # padding may be a suppressed id (-inf)
    return logprobs, mask.to(logprobs.dtype)


def packed_logprobs(model, batch: RolloutBatch, rows: list[int], temperature: float = 1.0,
                    suppress_ids: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Shared-prompt layout: (logprobs [n, C], mask [n, C]), equal to `row_logprobs`'."""
    param = next(model.parameters())
    comp, mask, C = trimmed(batch, rows)
    packed = pack(model, batch, rows, C)
    eager = attn_implementation(model) == "eager"  # eager adds the mask: it must be a float one
    pixel_values, grid = batch.prompts.vision_for(packed.groups)
    keep = packed.keep.to(param.device)
    in_model = keeps_logits_at_mask()  # else all positions' logits come back and are kept here
    out = model(input_ids=packed.input_ids.to(param.device),
                attention_mask=shared_prompt_mask(packed.segment, param.dtype if eager else None).to(param.device),
                position_ids=packed.position_ids.to(param.device),  # [3, B, L]
                pixel_values=pixel_values.to(param.device), image_grid_thw=grid.to(param.device),
                logits_to_keep=keep if in_model else 0, use_cache=False)
    logits = scaled_logits(out.logits if in_model else out.logits[keep], temperature, suppress_ids)  # [K, V]
    source, comp, mask = packed.source.to(param.device), comp.to(param.device), mask.to(param.device)
    logprobs = logits[source, comp] - logits.logsumexp(dim=-1)[source]  # [n, C]
    logprobs = logprobs.masked_fill(mask == 0, 0.0)
    return logprobs, mask.to(logprobs.dtype)
