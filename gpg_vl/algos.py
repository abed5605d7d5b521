"""Group Policy Gradient and its baselines: pure tensor math, no I/O, no config objects.

GPG (Chu et al., "GPG: A Simple and Strong Reinforcement Learning Baseline for Model
Reasoning", arXiv 2504.02546). For each prompt, G completions o_1..o_G with rewards r_i:

    A_i   = (r_i - mean_j r_j) / F_norm             F_norm = 1 (default) or std_j r_j + eps
    rho   = min(1, (B - M) / B)                     M of the B groups are degenerate (std <= tol)
    alpha = 1 / rho
    L     = alpha * AGG_{i,t} [ -log pi(o_{i,t} | q, o_{i,<t}) * A_i ]

No importance ratio, no clipping, no KL, no reference model: one update per rollout.
Where we depart from the reference code:
  1. alpha is exactly B / (B - M); the reference divides by (rho + 1e-5). With no valid
     group at all the loss is identically zero and we use alpha = 1.
  2. B and M are GLOBAL counts (summed over data-parallel processes) passed in by the
     caller, so alpha does not depend on how the batch is split across processes.
  3. Aggregations take explicit denominators, so summing the loss of micro-batches (and of
     processes) gives exactly the loss of the whole batch.

Baselines, for side-by-side runs in the same trainer:
  GRPO:     A_i = (r_i - mean) / (std + 1e-4), clipped ratio surrogate (eps 0.2),
            optional k3 KL to a frozen reference, beta * KL.
  Dr. GRPO: A_i = r_i - mean, clipped ratio surrogate, token sums / a constant.

Shapes: N = rows (B*G completions), T = completion tokens, mask is 1 on real tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor


def group_stats(rewards: Tensor, group_size: int) -> tuple[Tensor, Tensor]:
    """Per-group mean and (population) std. rewards [B*G] -> ([B], [B])."""
    grouped = rewards.view(-1, group_size)  # [B, G]
    return grouped.mean(dim=1), grouped.std(dim=1, unbiased=False)


def group_advantages(rewards: Tensor, group_size: int, norm: str = "none",
                     eps: float = 1e-6) -> Tensor:
    """A_i = (r_i - group mean) / F_norm. rewards [B*G] -> advantages [B*G].

    norm: "none" (F_norm = 1, the GPG default) | "std" (F_norm = group std + eps).
    """
    mean, std = group_stats(rewards, group_size)
    centred = rewards.view(-1, group_size) - mean[:, None]  # [B, G]
    if norm == "std":
        centred = centred / (std[:, None] + eps)
    elif norm != "none":
        raise ValueError(f"unknown advantage norm {norm!r}; valid: none, std")
    return centred.reshape(-1)


def valid_groups(rewards: Tensor, group_size: int, tol: float = 1e-5) -> Tensor:
    """A group is valid (carries gradient) when its reward std > tol. [B*G] -> bool [B]."""
    return group_stats(rewards, group_size)[1] > tol


def gpg_alpha(num_groups: int, num_valid: int) -> float:
    """alpha = 1 / rho, rho = min(1, valid / groups), from global counts; 1 when none valid."""
    if num_valid <= 0:
        return 1.0
    rho = min(1.0, num_valid / num_groups)
    return 1.0 / rho


# --- aggregation ------------------------------------------------------------------------

def aggregate(values: Tensor, mask: Tensor, mode: str, num_seqs: float, num_tokens: float,
              norm_const: float = 1.0) -> Tensor:
    """Reduce per-token values [N, T] to a scalar, with explicit batch denominators.

    seq_mean_token_mean: sum_i (sum_t v_it m_it / sum_t m_it) / num_seqs
    token_mean:          sum_it v_it m_it / num_tokens
    token_sum_norm:      sum_it v_it m_it / (num_seqs * norm_const)      (Dr. GRPO)
    num_seqs / num_tokens are the counts of the WHOLE batch (all micro-batches, all
    processes), so the pieces add up to the loss of the whole batch.
    """
    masked = values * mask
    if mode == "seq_mean_token_mean":
        per_seq = masked.sum(dim=1) / mask.sum(dim=1).clamp(min=1)  # [N]
        return per_seq.sum() / num_seqs
    if mode == "token_mean":
        return masked.sum() / num_tokens
    if mode == "token_sum_norm":
        return masked.sum() / (num_seqs * norm_const)
    raise ValueError(f"unknown aggregation {mode!r}; valid: seq_mean_token_mean, token_mean, token_sum_norm")


# --- losses -----------------------------------------------------------------------------

@dataclass
class LossInputs:
    """What a policy loss sees for one micro-batch. Shapes: [N, T] unless noted."""

    logprobs: Tensor          # log pi_theta of the sampled tokens (with grad)
    mask: Tensor              # 1 on completion tokens
    advantages: Tensor        # [N]
    old_logprobs: Tensor | None = None   # sampling policy (detached); None = on-policy
    ref_logprobs: Tensor | None = None   # frozen reference (GRPO KL)


@dataclass
class LossSettings:
    aggregation: str = "seq_mean_token_mean"
    num_seqs: float = 1.0     # whole-batch sequence count
    num_tokens: float = 1.0   # whole-batch completion-token count
    alpha: float = 1.0
    clip_eps: float = 0.2
    kl_beta: float = 0.0
    norm_const: float = 1.0


LossFn = Callable[[LossInputs, LossSettings], tuple[Tensor, dict[str, Tensor]]]
LOSSES: dict[str, LossFn] = {}
ADV_NORM = {"gpg": "none", "grpo": "std", "dr_grpo": "none"}


def register_loss(name: str) -> Callable[[LossFn], LossFn]:
    def deco(fn: LossFn) -> LossFn:
        if name in LOSSES:
            raise ValueError(f"loss {name!r} is already registered")
        LOSSES[name] = fn
        return fn
    return deco


def get_loss(name: str) -> LossFn:
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; valid: {', '.join(sorted(LOSSES))}")
    return LOSSES[name]


@register_loss("gpg")
def gpg_loss(x: LossInputs, s: LossSettings) -> tuple[Tensor, dict[str, Tensor]]:
    """alpha * AGG[-log pi * A]; its gradient is -alpha * A * grad log pi per token."""
    per_token = -x.logprobs * x.advantages[:, None]  # [N, T]
    loss = s.alpha * aggregate(per_token, x.mask, s.aggregation, s.num_seqs, s.num_tokens, s.norm_const)
    return loss, {}


def _clipped_surrogate(x: LossInputs, s: LossSettings) -> tuple[Tensor, Tensor]:
    old = x.logprobs.detach() if x.old_logprobs is None else x.old_logprobs
    ratio = torch.exp(x.logprobs - old)  # [N, T]
    adv = x.advantages[:, None]
    unclipped = ratio * adv
    clipped = ratio.clamp(1 - s.clip_eps, 1 + s.clip_eps) * adv
    per_token = -torch.minimum(unclipped, clipped)
    clip_frac = ((unclipped != clipped).float() * x.mask).sum() / x.mask.sum().clamp(min=1)
    return per_token, clip_frac


def k3_kl(logprobs: Tensor, ref_logprobs: Tensor) -> Tensor:
    """Schulman's k3 estimator of KL(pi || ref): exp(ref - lp) - (ref - lp) - 1 >= 0."""
    delta = ref_logprobs - logprobs
    return torch.exp(delta) - delta - 1


@register_loss("grpo")
def grpo_loss(x: LossInputs, s: LossSettings) -> tuple[Tensor, dict[str, Tensor]]:
    """Clipped ratio surrogate + beta * k3 KL to the reference (DeepSeekMath's GRPO)."""
    per_token, clip_frac = _clipped_surrogate(x, s)
    metrics = {"clip_frac": clip_frac.detach()}
    if s.kl_beta > 0:
        if x.ref_logprobs is None:
            raise ValueError("grpo with kl_beta > 0 needs reference log-probs")
        kl = k3_kl(x.logprobs, x.ref_logprobs)
        per_token = per_token + s.kl_beta * kl
        metrics["kl"] = ((kl * x.mask).sum() / x.mask.sum().clamp(min=1)).detach()
    loss = s.alpha * aggregate(per_token, x.mask, s.aggregation, s.num_seqs, s.num_tokens, s.norm_const)
    return loss, metrics


@register_loss("dr_grpo")
def dr_grpo_loss(x: LossInputs, s: LossSettings) -> tuple[Tensor, dict[str, Tensor]]:
    """Clipped surrogate, token sums divided by a constant (use token_sum_norm)."""
    per_token, clip_frac = _clipped_surrogate(x, s)
    loss = s.alpha * aggregate(per_token, x.mask, s.aggregation, s.num_seqs, s.num_tokens, s.norm_const)
    return loss, {"clip_frac": clip_frac.detach()}
