"""Shared-prompt packing: each prompt once, followed by its group's completions.

The per-row forward (`forward.row_logprobs`) runs a group's prompt, its image tokens and
its vision tower G times, once per completion. Here a packed row holds

    [prompt (its real tokens, no padding) | completion 1 | completion 2 | ... | completion k]

attended so that a prompt token sees earlier prompt tokens and a completion token sees
the whole prompt plus its own earlier tokens, never another completion: by the two-call
shared-prefix attention (prefix_attention.py; SDPA or flash-attention) or, for eager
attention and as the tests' reference, under the dense 4-D mask `shared_prompt_mask`.
Position ids are the prompt's own (the family adapter's `prompt_positions`: Qwen's M-RoPE
index, 3 rows: temporal, height, width; or one row for plain RoPE), and completion token
t sits at (prompt's largest position + 1 + t) on every row, exactly where the per-row
forward puts it. So every completion's log-probs equal the
per-row ones, and the prompt's and vision tower's gradients are the sum over the G
completions, as in the per-row forward. Work per group drops from G x (P + C) tokens and
G vision passes to P + G x C tokens and one vision pass.

A completion's last token predicts nothing, so it is left out of the packed row; its
first token is predicted from the prompt's last position, which all k completions share.
Log-probs are computed only for the positions that predict a completion token.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .data.collator import PromptBatch
from .prefix_attention import KERNELS
from .rollout.batch import RolloutBatch

PACKED_ATTENTION = (*KERNELS, "eager")  # two-call shared-prefix kernels, and eager under the 4-D mask


@dataclass
class Packed:
    """One micro-batch laid out as one packed row per prompt (group).

    input_ids: [B, L] right-padded; position_ids: [R, B, L] (R: the family's position rows); segment: [B, L] with 0 for
    prompt tokens, i for the group's i-th completion (1-based), -1 for padding.
    keep: [B, L] bool, the positions whose logits are needed (K of them in all).
    source: [n, C] index into the K kept positions: which one predicts token t of row n.
    groups: [B] the prompt of each packed row.
    """

    input_ids: Tensor
    position_ids: Tensor
    segment: Tensor
    keep: Tensor
    source: Tensor
    groups: list[int]


def unsupported_reason(model) -> str | None:
    """Why the packed forward cannot run on this model (None: it can); the family decides."""
    from .families import UnknownFamily, family_of

    try:
        return family_of(model).packing_reason(model)
    except UnknownFamily as err:
        return str(err)


def attn_implementation(model) -> str:
    from .families import bare

    config = bare(model).config
    return getattr(config, "text_config", config)._attn_implementation


def group_rows(batch: RolloutBatch, rows: list[int]) -> dict[int, list[int]]:
    """Rows of this micro-batch by their prompt, in first-seen order (a group may be partial)."""
    out: dict[int, list[int]] = {}
    for row, g in zip(rows, batch.group_index[rows].tolist()):
        out.setdefault(g, []).append(row)
    return out


def prompt_positions(model, prompts: PromptBatch, index: list[int] | None = None) -> Tensor:
    """Position ids [R, B, P] of these prompts (all when index is None), by the family's rule.

    Left padding keeps its columns (their positions are unused). Shared by the packed
    training forward and the HF engine's shared-prefix decoding, so both place tokens alike.
    """
    index = list(range(len(prompts))) if index is None else index
    return prompts.adapter.prompt_positions(model, prompts.input_ids[index], prompts.attention_mask[index],
                                            prompts.mm_token_type_ids[index], prompts.vision_for(index))


def pack_group(prompt_ids: Tensor, prompt_pos: Tensor, comp: Tensor, lengths: Tensor):
    """One packed row: (ids [L], positions [R, L], segment [L], source [k, C]).

    prompt_ids [P], prompt_pos [R, P]: the prompt's real tokens; comp [k, C] right-padded
    completions with `lengths` [k] real tokens. source[i, t] is the row position whose
    output predicts comp[i, t] (positions past a completion's end point at the prompt's
    last token; they are masked out later).
    """
    P, (k, C) = prompt_ids.shape[0], comp.shape
    t = torch.arange(max(C - 1, 0))
    fed = t[None, :] < (lengths[:, None] - 1)  # [k, C-1]: tokens that predict a later token
    ids = torch.cat([prompt_ids, comp[:, :C - 1][fed]])  # [L]
    segment = torch.cat([torch.zeros(P, dtype=torch.long),
                         torch.arange(1, k + 1)[:, None].expand(k, C - 1)[fed]])
    start = prompt_pos.max() + 1  # the first completion token's position, on every row
    text_pos = (start + t[None, :].expand(k, C - 1)[fed]).expand(prompt_pos.shape[0], -1)
    positions = torch.cat([prompt_pos, text_pos], dim=1)  # [R, L]
    offset = torch.cumsum(fed.sum(dim=1), 0) - fed.sum(dim=1)  # [k] where completion i begins
    source = P + offset[:, None] + torch.arange(C)[None, :] - 1  # [k, C]
    source[:, 0] = P - 1
    source = torch.where(torch.arange(C)[None, :] < lengths[:, None], source, P - 1)
    return ids, positions, segment, source


def pack(model, batch: RolloutBatch, rows: list[int], C: int, pad_id: int = 0) -> Packed:
    """Lay out these rows (completions trimmed to C tokens) as one packed row per prompt.

    pad_id fills the right padding, which the mask hides (any id but an image token's).
    """
    by_group = group_rows(batch, rows)
    groups = list(by_group)
    positions = prompt_positions(model, batch.prompts, groups)  # [R, B, P]
    p = batch.prompts
    lengths = batch.completion_mask[:, :C].sum(dim=1)  # [B*G]
    parts = []
    for b, (g, members) in enumerate(by_group.items()):
        real = p.attention_mask[g].bool()
        parts.append(pack_group(p.input_ids[g][real], positions[:, b, real],
                                batch.completion_ids[members, :C], lengths[members]))
    B, L = len(parts), max(ids.shape[0] for ids, *_ in parts)
    ids = torch.full((B, L), pad_id, dtype=torch.long)
    pos = torch.ones((positions.shape[0], B, L), dtype=torch.long)
    segment = torch.full((B, L), -1, dtype=torch.long)
    keep = torch.zeros((B, L), dtype=torch.bool)
    source = torch.empty(len(rows), C, dtype=torch.long)
    where = {row: i for i, row in enumerate(rows)}
    base = 0  # kept positions of earlier packed rows (they come first in the flattened logits)
    for b, (members, (row_ids, row_pos, row_seg, row_src)) in enumerate(zip(by_group.values(), parts)):
        n, first = row_ids.shape[0], int((row_seg == 0).sum()) - 1  # first: the prompt's last token
        ids[b, :n], pos[:, b, :n], segment[b, :n] = row_ids, row_pos, row_seg
        keep[b, first:n] = True
        source[[where[r] for r in members]] = base + row_src - first
        base += n - first
    return Packed(ids, pos, segment, keep, source, groups)


def shared_prompt_mask(segment: Tensor, dtype: torch.dtype | None = None) -> Tensor:
    """[B, 1, L, L] mask: causal, completions see the prompt and themselves only.

    Boolean (True = attend) for SDPA; with a float dtype, additive (0 / most negative)
    for eager attention. Padding queries attend to themselves so no softmax row is empty
    (an empty row is NaN, and NaN times a zero gradient is still NaN).
    """
    L = segment.shape[1]
    q, k = segment[:, :, None], segment[:, None, :]  # [B, L, 1], [B, 1, L]
    causal = torch.ones(L, L, dtype=torch.bool, device=segment.device).tril()
    allowed = causal & (q >= 0) & (k >= 0) & ((k == 0) | (k == q))
    allowed |= torch.eye(L, dtype=torch.bool, device=segment.device)
    allowed = allowed[:, None]  # [B, 1, L, L]
    if dtype is None:
        return allowed
    return torch.zeros(allowed.shape, dtype=dtype, device=segment.device).masked_fill(
        ~allowed, torch.finfo(dtype).min)
