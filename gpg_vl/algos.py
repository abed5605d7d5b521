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

Baselines, for side-by-side runs in the same trainer; each loss registers the settings of
its own paper (`LossSpec.defaults`), so `algo.loss=grpo` alone is GRPO, not GPG renamed:
  GRPO (DeepSeekMath, Shao et al. 2024): A_i = (r_i - mean) / (sample std + 1e-4), clipped
            ratio surrogate against the SAMPLING policy (eps 0.2), beta * k3 KL to a frozen
            reference (beta 0.04), mu updates per rollout, no alpha, no beta_th resampling.
  Dr. GRPO (Liu et al. 2025): A_i = r_i - mean, clipped surrogate, token sums divided by a
            constant, no alpha, no resampling.
A user may still combine explicitly (grpo with alpha_correction=true, ...).

Off-policy corrections (all optional, all per token, never differentiated):
  truncated importance weight min(pi_train / pi_rollout, cap) for samples drawn by another
  policy: the rollout engine's numerics, or the previous step's policy (carried groups).

Shapes: N = rows (B*G completions), T = completion tokens, mask is 1 on real tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor


def group_stats(rewards: Tensor, group_size: int) -> tuple[Tensor, Tensor]:
    """Per-group mean and SAMPLE std (Bessel-corrected, as DeepSeekMath / TRL). [B*G] -> ([B], [B])."""
    grouped = rewards.view(-1, group_size)  # [B, G]
    return grouped.mean(dim=1), grouped.std(dim=1, unbiased=True)


STD_EPS = 1e-4  # GRPO's (r - mean) / (std + 1e-4); GPG's F_norm = std ablation uses the same


def group_advantages(rewards: Tensor, group_size: int, norm: str = "none", eps: float = STD_EPS) -> Tensor:
    """A_i = (r_i - group mean) / F_norm. rewards [B*G] -> advantages [B*G].

    norm: "none" (F_norm = 1, GPG and Dr. GRPO) | "std" (F_norm = sample std + eps, GRPO).
    """
    mean, std = group_stats(rewards, group_size)
    centred = rewards.view(-1, group_size) - mean[:, None]  # [B, G]
    if norm == "std":
        centred = centred / (std[:, None] + eps)
    elif norm != "none":
        raise ValueError(f"unknown advantage norm {norm!r}; valid: {', '.join(ADV_NORMS)}")
    return centred.reshape(-1)


ADV_NORMS = ("none", "std")


def valid_groups(rewards: Tensor, group_size: int, tol: float = 1e-5) -> Tensor:
    """A group is valid (carries gradient) when its reward std > tol. [B*G] -> bool [B]."""
    return group_stats(rewards, group_size)[1] > tol


def gpg_alpha(num_groups: int, num_valid: int) -> float:
    """alpha = 1 / rho, rho = min(1, valid / groups), from global counts; 1 when none valid."""
    if num_valid <= 0:
        return 1.0
    rho = min(1.0, num_valid / num_groups)
    return 1.0 / rho


def truncated_is_weight(logprobs: Tensor, rollout_logprobs: Tensor, cap: float) -> Tensor:
    """min(pi_train / pi_rollout, cap) per token [N, T], no gradient (truncated IS, Yao et al. 2025).

    Corrects a policy gradient whose samples came from a slightly different policy: the
    rollout engine's numerics (vLLM, bf16 kernels) or an older policy (carried groups).
    """
    return torch.exp(logprobs.detach() - rollout_logprobs).clamp(max=cap)


def mismatch_k3(logprobs: Tensor, rollout_logprobs: Tensor, mask: Tensor) -> Tensor:
    """Sum over real tokens of k3 = r - 1 - log r, r = pi_train / pi_rollout: an estimate of
    KL(pi_rollout || pi_train) from the rollout's own samples (0 when the two agree)."""
    log_r = logprobs.detach() - rollout_logprobs
    return ((torch.exp(log_r) - 1 - log_r) * mask).sum()


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
    raise ValueError(f"unknown aggregation {mode!r}; valid: {', '.join(AGGREGATIONS)}")


AGGREGATIONS = ("seq_mean_token_mean", "token_mean", "token_sum_norm")


# --- losses -----------------------------------------------------------------------------

@dataclass
class LossInputs:
    """What a policy loss sees for one micro-batch. Shapes: [N, T] unless noted."""

    logprobs: Tensor          # log pi_theta of the sampled tokens (with grad)
    mask: Tensor              # 1 on completion tokens
    advantages: Tensor        # [N]
    old_logprobs: Tensor | None = None   # the SAMPLING policy's (detached); None = on-policy
    ref_logprobs: Tensor | None = None   # frozen reference (GRPO KL)
    weights: Tensor | None = None        # per-token importance weights (detached); None = 1


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


@dataclass(frozen=True)
class LossSpec:
    """A registered loss and the settings its own paper uses.

    defaults: algo.* key -> value, applied where the user set nothing. ratio: the loss
    has an importance ratio (so it takes old log-probs, clip_eps and several updates per
    rollout). kl: it has a KL term (so kl_beta means something).
    """

    fn: LossFn
    defaults: dict
    ratio: bool
    kl: bool


LOSSES: dict[str, LossSpec] = {}


def register_loss(name: str, defaults: dict | None = None, ratio: bool = False,
                  kl: bool = False) -> Callable[[LossFn], LossFn]:
    def deco(fn: LossFn) -> LossFn:
        if name in LOSSES:
            raise ValueError(f"loss {name!r} is already registered")
        LOSSES[name] = LossSpec(fn, dict(defaults or {}), ratio, kl)
        return fn
    return deco


def loss_spec(name: str) -> LossSpec:
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; valid: {', '.join(sorted(LOSSES))}")
    return LOSSES[name]


def get_loss(name: str) -> LossFn:
    return loss_spec(name).fn


def _weighted(per_token: Tensor, x: LossInputs) -> Tensor:
    return per_token if x.weights is None else per_token * x.weights


def _masked_sum(values: Tensor, mask: Tensor) -> Tensor:
    return (values * mask).sum().detach()


@register_loss("gpg", defaults=dict(adv_norm="none", aggregation="seq_mean_token_mean", alpha_correction=True,
                                    beta_th=0.4, keep_surplus=True, kl_beta=0.0, updates_per_rollout=1))
def gpg_loss(x: LossInputs, s: LossSettings) -> tuple[Tensor, dict[str, Tensor]]:
    """alpha * AGG[-w * log pi * A]; its gradient is -alpha * w * A * grad log pi per token (w = 1
    unless an importance correction is on)."""
    per_token = _weighted(-x.logprobs * x.advantages[:, None], x)  # [N, T]
    loss = s.alpha * aggregate(per_token, x.mask, s.aggregation, s.num_seqs, s.num_tokens, s.norm_const)
    return loss, {}


def _clipped_surrogate(x: LossInputs, s: LossSettings) -> tuple[Tensor, Tensor]:
    """(-min(ratio * A, clip(ratio) * A) [N, T], number of clipped real tokens)."""
    old = x.logprobs.detach() if x.old_logprobs is None else x.old_logprobs
    ratio = torch.exp(x.logprobs - old)  # [N, T]
    adv = x.advantages[:, None]
    unclipped = ratio * adv
    clipped = ratio.clamp(1 - s.clip_eps, 1 + s.clip_eps) * adv
    per_token = -torch.minimum(unclipped, clipped)
    return _weighted(per_token, x), _masked_sum((clipped < unclipped).float(), x.mask)


def k3_kl(logprobs: Tensor, ref_logprobs: Tensor) -> Tensor:
    """Schulman's k3 estimator of KL(pi || ref): exp(ref - lp) - (ref - lp) - 1 >= 0."""
    delta = ref_logprobs - logprobs
    return torch.exp(delta) - delta - 1


@register_loss("grpo", ratio=True, kl=True,
               defaults=dict(adv_norm="std", aggregation="seq_mean_token_mean", alpha_correction=False,
                             beta_th=0.0, keep_surplus=False, kl_beta=0.04, clip_eps=0.2, updates_per_rollout=1))
def grpo_loss(x: LossInputs, s: LossSettings) -> tuple[Tensor, dict[str, Tensor]]:
    """DeepSeekMath's GRPO: clipped ratio surrogate + beta * k3 KL to a frozen reference.

    Metrics come back as SUMS over real tokens (clipped tokens, KL), so the caller can add
    micro-batches and processes and divide once by the whole batch's token count.
    """
    per_token, clipped = _clipped_surrogate(x, s)
    metrics = {"clip_frac": clipped}
    if s.kl_beta > 0:
        if x.ref_logprobs is None:
            raise ValueError("grpo with kl_beta > 0 needs reference log-probs")
        kl = k3_kl(x.logprobs, x.ref_logprobs)
        per_token = per_token + s.kl_beta * kl
        metrics["kl"] = _masked_sum(kl, x.mask)
    loss = s.alpha * aggregate(per_token, x.mask, s.aggregation, s.num_seqs, s.num_tokens, s.norm_const)
    return loss, metrics


@register_loss("dr_grpo", ratio=True,
               defaults=dict(adv_norm="none", aggregation="token_sum_norm", alpha_correction=False,
                             beta_th=0.0, keep_surplus=False, kl_beta=0.0, clip_eps=0.2, updates_per_rollout=1))
def dr_grpo_loss(x: LossInputs, s: LossSettings) -> tuple[Tensor, dict[str, Tensor]]:
    """Dr. GRPO (Liu et al. 2025): clipped surrogate, no std, token sums / a constant."""
    per_token, clipped = _clipped_surrogate(x, s)
    loss = s.alpha * aggregate(per_token, x.mask, s.aggregation, s.num_seqs, s.num_tokens, s.norm_const)
    return loss, {"clip_frac": clipped}
