"""Per-token log-probs from hidden states, a chunk of tokens at a time: never [N, T, V].

The model's own head returns logits for every kept position at once: 8 completions x 512
tokens x a 151,936-token vocabulary is 2.5 GB of fp32 logits, and log-softmax and its
gradient hold a few more of the same size. Here the body returns hidden states [M, H]
for the M tokens that are scored, and each chunk of them goes through lm_head ->
/ temperature -> suppressed ids at -inf -> log-softmax -> gather under activation
checkpointing: its logits are freed after the forward and recomputed in the backward,
so at most one chunk's logits [chunk, V] (and their gradient) is alive at a time.

The model's forward itself runs unchanged, with `ScoringHead` standing in for lm_head for
that one call: lm_head is still called as a module (never through its weight), so DDP's,
DeepSpeed ZeRO-3's and FSDP's hooks (gradient sync, parameter gathering) and accelerate's
autocast see one ordinary forward.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

LOGITS_PER_CHUNK = 2 ** 26  # fp32 logits alive at once (256 MiB); chunk tokens = this // V


def scaled_logits(logits: Tensor, temperature: float, suppress_ids: Tensor | None) -> Tensor:
    """[..., V] logits as sampling saw them: fp32, / temperature, suppressed ids at -inf."""
    logits = logits.float() / temperature  # a fresh tensor: filling it in place keeps one copy
    if suppress_ids is not None and len(suppress_ids):
        logits.index_fill_(-1, suppress_ids.to(logits.device), float("-inf"))
    return logits


def piece_logprobs(head, hidden: Tensor, targets: Tensor, temperature: float,
                   suppress_ids: Tensor | None) -> Tensor:
    """log p(targets) [c] of hidden [c, H] under head -> temperature -> suppression."""
    logits = scaled_logits(head(hidden), temperature, suppress_ids)  # [c, V] fp32
    # one fused log-softmax (its backward needs only its output): ~2x faster on a CPU than
    # gather - logsumexp, and the scaled logits are freed as soon as it has run
    return torch.log_softmax(logits, dim=-1).gather(-1, targets[:, None]).squeeze(-1)


def chunked_logprobs(head, hidden: Tensor, targets: Tensor, temperature: float = 1.0,
                     suppress_ids: Tensor | None = None, chunk_tokens: int | None = None) -> Tensor:
    """log p(targets) [M] (fp32) for hidden [M, H]; chunks of `chunk_tokens` recomputed in backward.

    chunk_tokens None: LOGITS_PER_CHUNK // V tokens; 0: all M at once with no
    recomputation (the model's own head's memory: the reference in tests and benchmarks).
    """
    if chunk_tokens == 0 or hidden.shape[0] == 0:
        return piece_logprobs(head, hidden, targets, temperature, suppress_ids)
    if chunk_tokens is None:
        chunk_tokens = max(1, LOGITS_PER_CHUNK // vocab_rows(head))
    if hidden.shape[0] <= chunk_tokens:  # one chunk within the budget: recomputing it would save nothing
        return piece_logprobs(head, hidden, targets, temperature, suppress_ids)
    recompute = torch.is_grad_enabled() and (hidden.requires_grad or head.weight.requires_grad)
    out = []
    for h, t in zip(hidden.split(chunk_tokens), targets.split(chunk_tokens)):
        if recompute:
            out.append(checkpoint(piece_logprobs, head, h, t, temperature, suppress_ids, use_reentrant=False))
        else:
            out.append(piece_logprobs(head, h, t, temperature, suppress_ids))
    return torch.cat(out)


def vocab_rows(head) -> int:
    """V of an output layer's [V, H] weight: ZeRO-3 empties .weight (its ds_shape stays), and
    a peft copy of tied embeddings is a Linear whose in/out_features are swapped."""
    weight = head.weight
    return int(weight.ds_shape[0] if hasattr(weight, "ds_shape") else weight.shape[0])


def causal_lm(model):
    """The transformers model inside DDP / DeepSpeed / FSDP (and peft) wrappers."""
    from .families import bare

    return bare(model)


class ScoringHead(torch.nn.Module):
    """Stands in for lm_head during one forward: hidden [B, L, H] -> log p(targets) [M].

    The model's forward runs as always (a wrapper's hooks, accelerate's autocast, DDP's
    gradient reduction, ZeRO-3 / FSDP gathering: all of them see one ordinary forward)
    and calls its output layer once with every position's hidden state; this keeps the M
    positions in `select` (flat b*L + position) and scores them by `chunked_logprobs`,
    calling the real lm_head module chunk by chunk (so its own hooks run each time).
    The model's `logits` output is then these log-probs.
    """

    def __init__(self, head, select: Tensor, targets: Tensor, temperature: float,
                 suppress_ids: Tensor | None, chunk_tokens: int | None):
        super().__init__()
        self.head, self.select, self.targets = head, select, targets
        self.temperature, self.suppress_ids, self.chunk_tokens = temperature, suppress_ids, chunk_tokens

    def forward(self, hidden: Tensor) -> Tensor:
        hidden = hidden.reshape(-1, hidden.shape[-1])[self.select]  # [M, H]
        return chunked_logprobs(self.head, hidden, self.targets, self.temperature, self.suppress_ids,
                                self.chunk_tokens)


def scored_logprobs(model, select: Tensor, targets: Tensor, temperature: float, suppress_ids: Tensor | None,
                    chunk_tokens: int | None, **model_inputs) -> Tensor:
    """log p(targets) [M] at flat positions select [M] of this forward (`ScoringHead` as lm_head).

    Only for models whose forward returns its output layer's result as the logits
    unchanged: Qwen2-VL and Qwen2.5-VL, and most others (not final-logit soft-capping).
    """
    inner = causal_lm(model)
    head = inner.get_output_embeddings()
    inner.set_output_embeddings(ScoringHead(head, select, targets, temperature, suppress_ids, chunk_tokens))
    try:
        return model(**model_inputs, use_cache=False).logits  # [M]
    finally:
        inner.set_output_embeddings(head)


def scatter_rows(values: Tensor, mask: Tensor) -> Tensor:
    """[n, C] with values [M] at mask's M true entries (row-major) and 0 elsewhere."""
    out = values.new_zeros(mask.shape)
    out[mask.bool()] = values
    return out
