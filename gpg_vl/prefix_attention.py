"""Shared-prefix attention for the packed training forward, without an L x L mask.

A packed row is [prompt (P_b tokens) | completion 1 | ... | completion k] (packing.py).
Under the dense 4-D mask SDPA scores every (query, key) pair of the row: (P + G*C)^2 per
group, and FlashAttention takes no such mask at all. Here the same attention runs as two
calls of an existing kernel (PrefixGrouper, arXiv 2506.05433):

1. the prompt's causal self-attention, once per group: queries/keys [B, H, P, D] with
   `is_causal` (prompts sit at the start of their row, so a shorter prompt's tail is
   never seen by its own prompt queries and its outputs there are discarded);
2. each completion's queries [N, H, Cq, D] over [its prompt's keys ; its own keys]
   [N, H, P + Cq, D]: prompt keys past P_b hidden, own keys causal. That is
   G*C*(P + C) scores per group instead of (P + G*C)^2; no tensor is L x L.

With flash-attention installed (`attn_implementation="flash_attention_2"`) both calls go
to its varlen kernel, which needs no mask and no padding at all: call 1 over the B
prompts, call 2 over N sequences [prompt_b ; own] of which the last c_i are queries
(flash-attention aligns `causal` bottom-right when there are fewer queries than keys).

The function is routed by a keyword argument, not by the config's attention name: the
model keeps `sdpa` / `flash_attention_2`, and `prefix_layout=...` passed to the model's
forward reaches every attention layer (transformers forwards extra kwargs). Gradient
checkpointing re-runs the layers during backward, long after a context manager that
switched the config would have restored it; a kwarg travels with the recomputation.
Without `prefix_layout`, and in the vision tower's (non-causal) attention, which receives
the same kwargs, the wrapped kernel runs exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import repeat_kv

KERNELS = {"sdpa": "sdpa", "flash_attention_2": "varlen"}  # model attention -> how the two calls run


@dataclass
class PrefixLayout:
    """Index tensors for the two calls over packed rows [B, L] (all on the model's device).

    P: the longest prompt; prompt_len [B]; prompt_at [sum P_b] flat index (b*L + position)
    of every prompt token, row-major; rows [N] the packed row of each completion that feeds tokens; tokens [T] flat index (b*L + position) of every completion token,
    completion-major; which [T] / t [T]: its completion and rank; counts [N] its tokens.
    source [B*L]: where each packed position's output comes from (see `assemble`).
    SDPA only (else None): Cq the longest completion; keys_at [N, P + Cq] the row positions of
    each completion's keys, [prompt 0..P-1 ; its own tokens, right-padded]; mask [N, 1, Cq, P + Cq]
    which of those its queries see (prompt keys below P_b, own keys causal).
    """

    kernel: str
    B: int
    L: int
    P: int
    prompt_len: Tensor
    prompt_at: Tensor
    rows: Tensor
    tokens: Tensor
    which: Tensor
    t: Tensor
    counts: Tensor
    source: Tensor
    Cq: int = 0
    keys_at: Tensor | None = None
    mask: Tensor | None = None


def prefix_layout(segment: Tensor, kernel: str = "sdpa") -> PrefixLayout:
    """The layout of packed rows whose segment [B, L] is 0 prompt, i completion i, -1 padding."""
    B, L = segment.shape
    dev = segment.device
    prompt_len = (segment == 0).sum(dim=1)  # [B]
    P = int(prompt_len.max())
    flat = segment.reshape(-1)
    tokens = torch.nonzero(flat > 0).squeeze(1)  # [T], row-major = completion-major
    key = (tokens // L) * (L + 1) + flat[tokens]  # one value per (row, completion)
    _, counts = torch.unique_consecutive(key, return_counts=True)  # [N]
    starts = counts.cumsum(0) - counts
    which = torch.repeat_interleave(torch.arange(len(counts), device=dev), counts)  # [T]
    t = torch.arange(len(tokens), device=dev) - starts[which]  # [T]
    rows = tokens[starts] // L  # [N]
    Cq = int(counts.max()) if len(counts) else 0
    n_prompt = int(prompt_len.sum()) if kernel == "varlen" else B * P  # rows of call 1's output
    n_comp = len(tokens) if kernel == "varlen" else len(counts) * Cq  # rows of call 2's output
    source = torch.full((B * L,), n_prompt + n_comp, dtype=torch.long, device=dev)  # padding: a zero row
    prompt_at = torch.nonzero(flat == 0).squeeze(1)  # [sum P_b] row-major
    if kernel == "varlen":
        source[prompt_at] = torch.arange(len(prompt_at), device=dev)
        source[tokens] = n_prompt + torch.arange(len(tokens), device=dev)
    else:
        source[prompt_at] = (prompt_at // L) * P + prompt_at % L
        source[tokens] = n_prompt + which * Cq + t
    layout = PrefixLayout(kernel, B, L, P, prompt_len, prompt_at, rows, tokens, which, t, counts, source, Cq)
    if kernel == "sdpa" and len(counts):
        own = torch.zeros(len(counts), Cq, dtype=torch.long, device=dev)  # slack: position 0, never seen
        own[which, t] = tokens % L
        layout.keys_at = torch.cat([torch.arange(P, device=dev).expand(len(counts), P), own], dim=1)
        sees_prompt = torch.arange(P, device=dev)[None, :] < prompt_len[rows, None]  # [N, P]
        causal = torch.ones(Cq, Cq, dtype=torch.bool, device=dev).tril()
        layout.mask = torch.cat([sees_prompt[:, None, :].expand(-1, Cq, P), causal.expand(len(counts), Cq, Cq)],
                                dim=2)[:, None]
    return layout


def assemble(layout: PrefixLayout, prompt_out: Tensor, comp_out: Tensor) -> Tensor:
    """[B, L, H, D] from call 1's rows [n_prompt, H, D] and call 2's [n_comp, H, D] (one gather)."""
    zero = prompt_out.new_zeros(1, *prompt_out.shape[1:])  # padding positions: never seen, never kept
    table = torch.cat([prompt_out, comp_out, zero])
    return table[layout.source].view(layout.B, layout.L, *prompt_out.shape[1:])


def native_gqa(device: torch.device) -> bool:
    """Whether SDPA is handed key/value heads un-repeated (`enable_gqa`): on a CPU (see sdpa_calls)."""
    return device.type == "cpu"


def sdpa_calls(layout: PrefixLayout, query: Tensor, key: Tensor, value: Tensor, scaling: float,
               dropout: float) -> tuple[Tensor, Tensor]:
    """Two SDPA calls; query [B, Hq, L, D], key/value [B, Hkv, L, D].

    GQA: on a CPU SDPA broadcasts the key/value heads itself (`enable_gqa`); on CUDA its
    flash and memory-efficient kernels refuse `enable_gqa` with a mask or in fp32 and fall
    back, silently, to the math kernel (an L x S score matrix), so there the gathered
    keys/values are repeated per query head first, as transformers' own SDPA path does."""
    B, H, L, D = query.shape
    P, N = layout.P, len(layout.counts)
    native = native_gqa(query.device)
    gqa = native and H != key.shape[1]

    def heads(x):  # [*, Hkv, S, D] -> what SDPA is given
        return x if native else repeat_kv(x, H // x.shape[1])

    prompt = F.scaled_dot_product_attention(query[:, :, :P], heads(key[:, :, :P]), heads(value[:, :, :P]),
                                            dropout_p=dropout, is_causal=True, scale=scaling,
                                            enable_gqa=gqa)  # [B, H, P, D]
    prompt = prompt.transpose(1, 2).reshape(B * P, H, D)
    if N == 0:  # every completion is a single token: nothing but the prompt runs
        return prompt, prompt.new_zeros(0, H, D)
    row, at = layout.rows[:, None], layout.keys_at  # [N, 1], [N, P + Cq]: one gather per tensor, no concat
    q = query[row, :, at[:, P:]].transpose(1, 2)  # [N, H, Cq, D]
    k, v = heads(key[row, :, at].transpose(1, 2)), heads(value[row, :, at].transpose(1, 2))  # [N, Hkv|Hq, P + Cq, D]
    comp = F.scaled_dot_product_attention(q, k, v, attn_mask=layout.mask, dropout_p=dropout, scale=scaling,
                                          enable_gqa=gqa)
    return prompt, comp.transpose(1, 2).reshape(N * layout.Cq, H, D)  # [N*Cq, H, D]


def varlen_kernel():
    """flash-attention's varlen function (tests substitute a torch stand-in)."""
    from flash_attn import flash_attn_varlen_func

    return flash_attn_varlen_func


def varlen_calls(layout: PrefixLayout, query: Tensor, key: Tensor, value: Tensor, scaling: float,
                 dropout: float) -> tuple[Tensor, Tensor]:
    """Two varlen calls, no padding: query [B, Hq, L, D], key/value [B, Hkv, L, D] (GQA native)."""
    B, _, L, D = query.shape
    q, k, v = (x.transpose(1, 2).reshape(B * L, x.shape[1], D) for x in (query, key, value))  # [B*L, H, D]
    dev, fn = query.device, varlen_kernel()
    plen = layout.prompt_len
    cu_p = F.pad(plen.cumsum(0), (1, 0)).int()  # [B+1]
    at = layout.prompt_at
    prompt = fn(q[at], k[at], v[at], cu_p, cu_p, layout.P, layout.P,
                dropout_p=dropout, softmax_scale=scaling, causal=True)  # [sum P_b, Hq, D]
    if len(layout.counts) == 0:
        return prompt, prompt.new_zeros(0, *prompt.shape[1:])
    seq_p = plen[layout.rows]  # [N] prompt keys of each completion
    klen = seq_p + layout.counts  # [N]
    cu_k = F.pad(klen.cumsum(0), (1, 0))
    j = torch.repeat_interleave(torch.arange(len(klen), device=dev), klen)  # [sum klen] completion of each key
    o = torch.arange(len(j), device=dev) - cu_k[j]  # rank within [prompt ; own]
    own_start = F.pad(layout.counts.cumsum(0), (1, 0))[:-1]
    own = layout.tokens[(own_start[j] + o - seq_p[j]).clamp(min=0, max=len(layout.tokens) - 1)]
    keys_at = torch.where(o < seq_p[j], layout.rows[j] * L + o, own)  # [sum klen]
    cu_q = F.pad(layout.counts.cumsum(0), (1, 0)).int()
    comp = fn(q[layout.tokens], k[keys_at], v[keys_at], cu_q, cu_k.int(), int(layout.counts.max()),
              int(klen.max()), dropout_p=dropout, softmax_scale=scaling, causal=True)  # [T, Hq, D]
    return prompt, comp


def prefix_attention(module, query: Tensor, key: Tensor, value: Tensor, layout: PrefixLayout,
                     scaling: float, dropout: float = 0.0) -> Tensor:
    """Attention output [B, L, Hq, D] of packed rows; query [B, Hq, L, D], key/value [B, Hkv, L, D]."""
    if layout.kernel == "varlen":
        prompt, comp = varlen_calls(layout, query, key, value, scaling, dropout)
    else:
        prompt, comp = sdpa_calls(layout, query, key, value, scaling, dropout)
    return assemble(layout, prompt, comp)


def routed(base):
    """`base` (a transformers attention function) unless the forward carries a `prefix_layout`."""
    def attention(module, query, key, value, attention_mask, dropout: float = 0.0, scaling: float | None = None,
                  prefix_layout: PrefixLayout | None = None, **kwargs):
        if prefix_layout is None or not module.is_causal:  # the vision tower gets the kwargs too
            return base(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs)
        scale = scaling if scaling is not None else query.shape[-1] ** -0.5
        return prefix_attention(module, query, key, value, prefix_layout, scale, dropout), None

    attention.base = base
    return attention


for _name in KERNELS:  # idempotent: a re-import wraps the original, not the wrapper
    _fn = AttentionInterface._global_mapping[_name]
    AttentionInterface.register(_name, routed(getattr(_fn, "base", _fn)))
