"""Sampling G completions per prompt from one prefill per prompt (shared-prefix decoding).

`generate(num_return_sequences=G)` prefills every prompt G times and, at every decoding
step, reads G copies of the prompt's keys and values. Here each prompt is prefilled once
(its image once); its keys and values stay [B, H, P, D] and only the completions' own are
per row, [B*G, H, t, D]. A decoding step scores the G rows of a group against their
prompt in one matmul and against their own tokens in another, and takes one softmax over
both: exactly attention over [prompt | own tokens] (vLLM's and FlashInfer's cascade /
shared-prefix attention, in plain torch, for decoding only).

Sampling is what the training forward scores: logits / temperature with the suppressed
ids removed, then transformers' own top-k / top-p warpers, and a draw by inverse CDF (one
uniform per row; torch.multinomial costs more than a decoding step's attention on a
CPU). A checkpoint's generation_config extras (repetition penalty, ...) do not apply: the
training forward could not reproduce them.

When the weights are sharded over processes (DeepSpeed ZeRO-3, FSDP) every forward is a
collective: a process whose rows have all ended keeps stepping until every process's
have (transformers' `synced_gpus`), or the others would wait for it forever.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import Tensor
from transformers import AttentionInterface, LogitsProcessorList, TopKLogitsWarper, TopPLogitsWarper

from ..data.collator import PromptBatch
from ..packing import prompt_positions

ATTENTION = "gpg_shared_prefix"


class PrefixKV:
    """The cache a decoding step reads: each prompt's keys/values once, each row's own after.

    prompt_keys_t[layer]: [B*Hkv, D, P] (transposed), prompt_values[layer]: [B*Hkv, P, D];
    prompt_bias: [B*Hkv, 1, P], -inf on left padding (from prompt_mask [B, P]);
    own keys/values[layer]: [B*G, Hkv, max_new, D], filled one token per step.
    """

    is_compileable = False

    def __init__(self, prefill, prompt_mask: Tensor, group: int, max_new: int):
        keys = [k for k, _, *_ in prefill]
        B, H, P, D = keys[0].shape
        like = keys[0]
        # laid out once for the decoding steps' batched matmuls: [B*Hkv, D, P] and [B*Hkv, P, D]
        self.prompt_keys_t = [k.transpose(-1, -2).reshape(B * H, D, P).contiguous() for k in keys]
        self.prompt_values = [v.reshape(B * H, P, D).contiguous() for _, v, *_ in prefill]
        self.prompt_length, self.group = P, group
        bias = like.new_zeros(B, P).masked_fill_(~prompt_mask.bool().to(like.device), float("-inf"))
        self.prompt_bias = bias[:, None, None, :].expand(B, H, 1, P).reshape(B * H, 1, P)  # -inf on padding
        self.keys = [like.new_empty(B * group, H, max_new, D) for _ in keys]
        self.values = [like.new_empty(B * group, H, max_new, D) for _ in keys]
        self.length = [0] * len(self.keys)

    def update(self, keys: Tensor, values: Tensor, layer_idx: int, *args, **kwargs):
        """Store one step's [B*G, Hkv, 1, D]; return this row's own tokens so far."""
        t = self.length[layer_idx]
        self.keys[layer_idx][:, :, t] = keys[:, :, 0]
        self.values[layer_idx][:, :, t] = values[:, :, 0]
        self.length[layer_idx] = t + 1
        return self.keys[layer_idx][:, :, :t + 1], self.values[layer_idx][:, :, :t + 1]

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.prompt_length + self.length[layer_idx]


def shared_prefix_attention(module, query: Tensor, key: Tensor, value: Tensor, attention_mask,
                            scaling: float, dropout: float = 0.0, shared_prefix: PrefixKV = None, **kwargs):
    """One decoding step: query [N, Hq, 1, D] over [its prompt | its own key [N, Hkv, t, D]].

    Returns ([N, 1, Hq, D], None) like transformers' attention functions.
    """
    pk = shared_prefix.prompt_keys_t[module.layer_idx]  # [B*Hkv, D, P]
    pv = shared_prefix.prompt_values[module.layer_idx]  # [B*Hkv, P, D]
    (BH, D, P), (N, Hq), Hkv = pk.shape, query.shape[:2], key.shape[1]
    B = BH // Hkv
    G, rep = N // B, Hq // Hkv  # rep: query heads per key/value head (GQA)
    q = query.reshape(B, G, Hkv, rep, D).transpose(1, 2).reshape(BH, G * rep, D)  # a group's rows at once
    to_prompt = torch.baddbmm(shared_prefix.prompt_bias, q, pk, alpha=scaling)  # [B*Hkv, G*rep, P]
    to_prompt = to_prompt.view(B, Hkv, G, rep, P).transpose(1, 2).reshape(N, Hkv, rep, P)
    to_own = (query.view(N, Hkv, rep, D) @ key.transpose(-1, -2)) * scaling  # [N, Hkv, rep, t]
    weights = torch.softmax(torch.cat([to_prompt, to_own], dim=-1), dim=-1, dtype=torch.float32).to(query.dtype)
    w_prompt = weights[..., :P].view(B, G, Hkv, rep, P).transpose(1, 2).reshape(BH, G * rep, P)
    from_prompt = torch.bmm(w_prompt, pv).view(B, Hkv, G, rep, D).transpose(1, 2).reshape(N, Hkv, rep, D)
    out = from_prompt + weights[..., P:] @ value  # [N, Hkv, rep, D]
    return out.reshape(N, Hq, 1, D).transpose(1, 2), None


AttentionInterface.register(ATTENTION, shared_prefix_attention)


def supports(model) -> bool:
    """The model's family allows it: known position ids, and every layer attends in full."""
    from ..families import UnknownFamily, family_of

    try:
        return family_of(model).decoding_reason(model) is None
    except UnknownFamily:
        return False


@contextmanager
def attention(model, name: str):
    """Run the language model's attention layers with `name`, restoring the old one after."""
    text = getattr(model.config, "text_config", model.config)
    old = text._attn_implementation
    text._attn_implementation = name
    try:
        yield
    finally:
        text._attn_implementation = old


def sharded(model) -> bool:
    """Weights split over several processes (ZeRO-3 or FSDP): every forward is collective."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return False
    from transformers.integrations.fsdp import is_fsdp_managed_module

    return hasattr(next(model.parameters()), "ds_id") or is_fsdp_managed_module(model)


def all_done(done: Tensor, synced: bool) -> bool:
    """Whether every row has ended, on every process when they decode in lock-step."""
    if not synced:
        return bool(done.all())
    left = (~done).sum().reshape(1).float()
    torch.distributed.all_reduce(left)
    return left.item() == 0


def warpers(temperature: float, top_k: int | None, top_p: float) -> LogitsProcessorList:
    """transformers' own top-k / top-p, in generate's order (temperature is applied before)."""
    out = LogitsProcessorList()
    if top_k:
        out.append(TopKLogitsWarper(top_k=top_k))
    if top_p < 1.0:
        out.append(TopPLogitsWarper(top_p=top_p))
    return out


def draw(logits: Tensor) -> Tensor:
    """One token per row [N] from logits [N, V] (-inf = never) by inverse CDF, in float64."""
    cdf = torch.softmax(logits, dim=-1, dtype=torch.float64).cumsum(dim=-1)  # [N, V]
    u = torch.rand(logits.shape[0], 1, dtype=torch.float64, device=logits.device) * cdf[:, -1:]
    return torch.searchsorted(cdf, u, right=True).squeeze(1).clamp_(max=logits.shape[1] - 1)


@torch.no_grad()
def sample_groups(model, prompts: PromptBatch, n: int, max_new_tokens: int, temperature: float,
                  warp: LogitsProcessorList, suppress_ids: Tensor, eos_ids: Tensor,
                  pad_id: int) -> tuple[Tensor, Tensor]:
    """([B*n, C] sampled token ids, [B*n, C] their sampling log-probs), rows prompt-major,
    padded with pad_id after each row's EOS (log-prob 0 there)."""
    device = model.device
    inputs = {k: v.to(device) for k, v in prompts.model_inputs().items()}
    positions = prompt_positions(model, prompts).to(device)  # [R, B, P]
    R = positions.shape[0]
    out = model(**inputs, position_ids=positions if R > 1 else positions[0], use_cache=True, logits_to_keep=1)
    cache = PrefixKV(out.past_key_values, inputs["attention_mask"], n, max_new_tokens)
    logits = out.logits[:, -1].repeat_interleave(n, dim=0)  # [N, V]
    start = (positions.amax(dim=(0, 2)) + 1).repeat_interleave(n)  # [N]: each row's first new position
    suppress_ids, eos_ids = suppress_ids.to(device), eos_ids.to(device)
    done = torch.zeros(logits.shape[0], dtype=torch.bool, device=device)
    synced = sharded(model)
    tokens, logprobs = [], []
    with attention(model, ATTENTION):
        for t in range(max_new_tokens):
            scores = logits.float() / temperature
            scores[:, suppress_ids] = float("-inf")
            scores = warp(None, scores)
            step = draw(scores).masked_fill_(done, pad_id)  # [N]
            picked = scores.gather(1, step[:, None]).squeeze(1) - scores.logsumexp(dim=-1)  # [N]
            tokens.append(step)
            logprobs.append(picked.masked_fill_(done, 0.0))
            done |= torch.isin(step, eos_ids)
            if t + 1 == max_new_tokens or all_done(done, synced):
                break
            pos = (start + t).view(1, -1, 1).expand(R, -1, 1)  # [R, N, 1]
            pos = pos if R > 1 else pos[0]
            logits = model(input_ids=step[:, None], position_ids=pos, past_key_values=cache, use_cache=True,
                           shared_prefix=cache).logits[:, -1]
    return torch.stack(tokens, dim=1), torch.stack(logprobs, dim=1)
