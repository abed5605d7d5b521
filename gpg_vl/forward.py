"""The training forward: per-token log-probs of sampled completions under the policy.

Two layouts, one result. The packed one (`packed_logprobs`, layout in `packing.py`) runs
each prompt and its images once, followed by its group's completions; its attention is
the two-call shared-prefix attention (`prefix_attention.py`: SDPA, or flash-attention's
varlen kernel) and, for eager attention, the dense shared-prompt 4-D mask. The per-row
one (`row_logprobs`) runs row r as [its group's prompt (left-padded) | its completion].
`choose_forward(model)` picks the layout once per run: packed wherever the model's family
allows it (gpg_vl.families: full-attention layers with SDPA, flash_attention_2 or eager),
per-row otherwise, and says in the log which path runs and why.

Either way the body's hidden states are kept only where they predict a completion token,
and the log-probs come from them a chunk of tokens at a time (`logprobs.py`): logits /
sampling temperature, the suppressed ids masked exactly as in sampling, so the policy
being trained is the one that generated the rollout, and never all [n, C, V] logits at once.
"""

from __future__ import annotations

import logging

import torch
from torch import Tensor

from .logprobs import scatter_rows, scored_logprobs
from .packing import attn_implementation, pack, shared_prompt_mask, unsupported_reason
from .prefix_attention import KERNELS, prefix_layout
from .rollout.batch import RolloutBatch

log = logging.getLogger(__name__)


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


def choose_forward(model):
    """The training forward for this model, chosen once: `packed_logprobs` or `row_logprobs`."""
    reason = unsupported_reason(model)
    if reason:
        log.info("training forward: per-row (each completion re-runs its prompt): %s", reason)
        return row_logprobs
    log.info("training forward: shared-prompt packed (each prompt and image once per group), %s attention",
             "shared-prefix two-call" if attn_implementation(model) in KERNELS else "dense-mask")
    return packed_logprobs


def completion_logprobs(model, batch: RolloutBatch, rows: list[int], temperature: float = 1.0,
                        suppress_ids: Tensor | None = None, chunk_tokens: int | None = None) -> tuple[Tensor, Tensor]:
    """(logprobs [n, C], mask [n, C]) for these rows; packed where the model allows it.

    chunk_tokens: completion tokens per lm_head chunk (None: as many as keep 2**26 fp32
    logits alive, 441 at a 151,936-token vocabulary; 0: all at once). The loop chooses
    its forward once (`choose_forward`); this is the same choice made per call.
    """
    fn = row_logprobs if unsupported_reason(model) else packed_logprobs
    return fn(model, batch, rows, temperature, suppress_ids, chunk_tokens=chunk_tokens)


def trimmed(batch: RolloutBatch, rows: list[int]) -> tuple[Tensor, Tensor, int]:
    """(completion ids [n, C], mask [n, C], C) with C the longest completion among the rows."""
    mask = batch.completion_mask[rows]
    C = max(1, int(mask.sum(dim=1).max()))
    return batch.completion_ids[rows, :C], mask[:, :C], C


def row_logprobs(model, batch: RolloutBatch, rows: list[int], temperature: float = 1.0,
                 suppress_ids: Tensor | None = None, chunk_tokens: int | None = None) -> tuple[Tensor, Tensor]:
    """Per-row layout: (logprobs [n, C], mask [n, C]); each row repeats its prompt."""
    device = next(model.parameters()).device
    groups = batch.group_index[rows].tolist()
    p = batch.prompts
    comp, mask, C = trimmed(batch, rows)
    inputs = p.adapter.model_inputs(
        torch.cat([p.input_ids[groups], comp], dim=1), torch.cat([p.attention_mask[groups], mask], dim=1),
        torch.cat([p.mm_token_type_ids[groups], torch.zeros_like(comp)], dim=1), p.vision_for(groups))
    inputs = {k: v.to(device) for k, v in inputs.items()}
    n, W = inputs["input_ids"].shape
    comp, mask = comp.to(device), mask.to(device)
    at = torch.arange(n, device=device)[:, None] * W + (W - C - 1) + torch.arange(C, device=device)  # [n, C]
    real = mask.bool()  # position W-C-1+t predicts completion token t
    lp = scored_logprobs(model, at[real], comp[real], temperature, suppress_ids, chunk_tokens, **inputs)  # [M]
    return scatter_rows(lp, mask), mask.float()


def packed_logprobs(model, batch: RolloutBatch, rows: list[int], temperature: float = 1.0,
                    suppress_ids: Tensor | None = None, chunk_tokens: int | None = None,
                    dense_mask: bool = False) -> tuple[Tensor, Tensor]:
    """Shared-prompt layout: (logprobs [n, C], mask [n, C]), equal to `row_logprobs`'.

    dense_mask: attend under the [B, 1, L, L] shared-prompt mask even where the two-call
    shared-prefix attention applies (the reference in tests and benchmarks; eager always).
    """
    device = next(model.parameters()).device
    comp, mask, C = trimmed(batch, rows)
    packed = pack(model, batch, rows, C)
    attn = attn_implementation(model)
    if attn in KERNELS and not dense_mask:
        attention = dict(attention_mask=None, prefix_layout=prefix_layout(packed.segment.to(device), KERNELS[attn]))
    else:  # eager adds the mask: it must be a float one
        dtype = next(model.parameters()).dtype if attn == "eager" else None
        attention = dict(attention_mask=shared_prompt_mask(packed.segment, dtype).to(device))
    positions = packed.position_ids if packed.position_ids.shape[0] > 1 else packed.position_ids[0]  # [3|1, B, L]
    inputs = batch.prompts.adapter.model_inputs(packed.input_ids, None, None, batch.prompts.vision_for(packed.groups))
    inputs = {k: v.to(device) for k, v in inputs.items()}
    kept = torch.nonzero(packed.keep.reshape(-1)).squeeze(1).to(device)  # [K] flat positions that predict
    comp, mask = comp.to(device), mask.to(device)
    real = mask.bool()
    lp = scored_logprobs(model, kept[packed.source.to(device)[real]], comp[real], temperature, suppress_ids,
                         chunk_tokens, position_ids=positions.to(device), **inputs, **attention)  # [M]
    return scatter_rows(lp, mask), mask.float()
