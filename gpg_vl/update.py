"""The policy-update stage: advantages -> loss over token-sized micro-batches -> optimizer step.

`policy_update` runs `algo.updates_per_rollout` (mu) optimizer steps on one rollout batch
(1 for GPG, which is on-policy). Per token, three log-probs meet:
  - the policy's, with gradient (`run.forward`: packed or per-row, `forward.choose_forward`);
  - the SAMPLING policy's, from the engine (`RolloutBatch.sampling_logprobs`): the ratio's
    denominator (grpo / dr_grpo), the truncated importance weight of carried groups and of
    `algo.tis_cap`, and the logged train-vs-rollout mismatch `rollout/logprob_diff`;
  - the frozen reference's (GRPO's KL), computed once per rollout batch.
Losses use whole-batch denominators, so micro-batches and processes add up to the loss of
the whole batch; metrics (clip_frac, kl, mismatch) are sums divided once by the global
token count. A step whose loss or gradient is not finite is skipped (weights, optimizer
and scheduler untouched) and counted; `optim.max_skipped` in a row stop the run.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from contextlib import nullcontext

import torch

from . import algos
from .forward import micro_batches, packed_logprobs
from .rollout.batch import RolloutBatch


class TrainingStopped(RuntimeError):
    """The run cannot go on (e.g. non-finite losses step after step): a message, not a trace."""


def policy_update(run, batch: RolloutBatch, num_valid: int) -> dict:
    cfg, a = run.cfg, run.cfg.algo
    G = batch.group_size
    batch.advantages = algos.group_advantages(batch.reward_total, G, a.adv_norm)  # [B*G]
    n_groups = run.global_sum(batch.num_groups)
    n_valid = run.global_sum(num_valid)
    alpha = algos.gpg_alpha(n_groups, n_valid) if a.alpha_correction else 1.0
    n_tokens = run.global_sum(int(batch.completion_mask.sum()))
    settings = algos.LossSettings(
        aggregation=a.aggregation, num_seqs=n_groups * G, num_tokens=n_tokens, alpha=alpha,
        clip_eps=a.clip_eps or 0.0, kl_beta=a.kl_beta, norm_const=a.token_sum_norm or cfg.rollout.max_new_tokens)
    if batch.sampling_logprobs is None and a.updates_per_rollout > 1:
        raise ValueError("algo.updates_per_rollout > 1 needs the rollout engine's sampling log-probs "
                         "(RolloutBatch.sampling_logprobs): this engine returned none")
    chunks = same_count_micro_batches(run, batch)
    ref = reference_logprobs(run, batch, chunks) if a.kl_beta > 0 else None
    sums: dict[str, float] = defaultdict(float)
    timing = {"forward": 0.0, "backward": 0.0, "optim": 0.0}
    for update in range(a.updates_per_rollout):
        loss = backward(run, batch, chunks, settings, ref, sums, timing, first=update == 0)
        optimizer_step(run, loss, sums, timing)
    run.scheduler.step()  # the schedule counts rollout steps, whatever mu is
    return update_metrics(run, batch, sums, timing, alpha, n_valid / n_groups, n_tokens, len(chunks))


def backward(run, batch: RolloutBatch, chunks: list[list[int]], settings: algos.LossSettings,
             ref: list | None, sums: dict, timing: dict, first: bool) -> float:
    """One pass over the micro-batches, accumulating the whole batch's gradient (and metric
    sums); returns this process's part of the loss."""
    cfg, acc = run.cfg, run.accelerator
    loss_fn = algos.get_loss(cfg.algo.loss)
    ratio = algos.loss_spec(cfg.algo.loss).ratio
    total = 0.0
    for i, rows in enumerate(chunks):
        last = i == len(chunks) - 1
        acc.sync_gradients = last  # DeepSpeed steps its engine in the last backward only
        with nullcontext() if last else acc.no_sync(run.model):
            t0 = time.perf_counter()
            lp, mask = run.forward(run.model, batch, rows, cfg.rollout.temperature, run.suppress_ids,
                                           chunk_tokens=cfg.optim.logprob_chunk_tokens)
            sampled = sampling_logprobs(batch, rows, lp)  # [n, C]
            stale = batch.stale_rows[rows].to(lp.device)  # [n]
            # a ratio loss divides by the sampling log-probs itself: that IS its correction
            inputs = algos.LossInputs(lp, mask, batch.advantages[rows].to(lp.device),
                                      old_logprobs=sampled if ratio else None,
                                      ref_logprobs=None if ref is None else ref[i],
                                      weights=None if ratio else correction_weights(lp, sampled, stale, cfg.algo))
            loss, extra = loss_fn(inputs, settings)
            t1 = time.perf_counter()
            # accelerate averages gradients over processes; the loss already uses global
            # denominators, so scale back up to a sum.
            acc.backward(loss * acc.num_processes)
            timing["forward"] += t1 - t0
            timing["backward"] += time.perf_counter() - t1
            total += loss.item()
            for key, value in extra.items():
                sums[key] += float(value)
            if first and sampled is not None:
                fresh, old = mask * (~stale)[:, None], mask * stale[:, None]  # [n, C]
                sums["mismatch"] += float(algos.mismatch_k3(lp, sampled, fresh))
                sums["abs_diff"] += float(((lp.detach() - sampled).abs() * fresh).sum())
                sums["fresh_tokens"] += float(fresh.sum())
                sums["stale_k3"] += float(algos.mismatch_k3(lp, sampled, old))
                sums["stale_tokens"] += float(old.sum())
    sums["loss"] += total
    return total


def sampling_logprobs(batch: RolloutBatch, rows: list[int], lp: torch.Tensor) -> torch.Tensor | None:
    if batch.sampling_logprobs is None:  # an engine that reports none: on-policy, one update
        return None
    return batch.sampling_logprobs[rows, :lp.shape[1]].to(lp.device)  # [n, C]


def correction_weights(lp: torch.Tensor, sampled: torch.Tensor | None, stale: torch.Tensor, a) -> torch.Tensor | None:
    """Per-token truncated importance weights [n, C], or None where every weight is 1.

    Carried rows (sampled by the previous policy) always get min(ratio, carry_is_cap);
    fresh rows get min(ratio, tis_cap) when algo.tis_cap > 0 (engine-vs-trainer numerics).
    """
    if not (a.tis_cap or bool(stale.any())):
        return None
    if sampled is None:
        raise ValueError("the rollout engine returned no sampling log-probs, which importance "
                         "weighting (algo.tis_cap, carried groups) needs")
    fresh = algos.truncated_is_weight(lp, sampled, a.tis_cap) if a.tis_cap else torch.ones_like(lp)
    carried = algos.truncated_is_weight(lp, sampled, a.carry_is_cap)
    return torch.where(stale[:, None], carried, fresh)


def reference_logprobs(run, batch: RolloutBatch, chunks: list[list[int]]) -> list:
    """The frozen reference's log-probs per micro-batch, once per rollout batch (mu updates share them):
    a frozen copy of the starting model, or under LoRA the policy itself with its adapters off."""
    from .lora import adapters_off

    model, off = (run.ref_model, nullcontext()) if run.ref_model is not None else (run.model, adapters_off(run.model))
    with torch.no_grad(), off:
        return [run.forward(model, batch, rows, run.cfg.rollout.temperature, run.suppress_ids,
                            chunk_tokens=run.cfg.optim.logprob_chunk_tokens)[0] for rows in chunks]


def optimizer_step(run, local_loss: float, sums: dict, timing: dict) -> None:
    """Clip and step, or skip a step whose loss or gradient is not finite (every process agrees:
    the gradient norm is global after the all-reduce, the loss is summed over processes)."""
    cfg, acc = run.cfg.optim, run.accelerator
    t0 = time.perf_counter()
    norm = acc.clip_grad_norm_(run.model.parameters(), cfg.grad_clip or float("inf"))
    norm = None if norm is None else float(norm)
    loss = run.global_sum(local_loss)
    if math.isfinite(loss) and (norm is None or math.isfinite(norm)):
        run.optimizer.step()
        run.skipped_in_row = 0
    else:
        run.skipped_total += 1
        run.skipped_in_row += 1
        if run.skipped_in_row >= cfg.max_skipped:
            raise TrainingStopped(
                f"{run.skipped_in_row} steps in a row had a non-finite loss or gradient (loss {loss}, grad norm "
                f"{norm}); every one was skipped with the weights untouched (optim.max_skipped="
                f"{cfg.max_skipped}). Lower optim.lr, check the rewards for NaN/inf, or use model.dtype=float32")
    run.optimizer.zero_grad(set_to_none=True)
    if norm is not None:
        sums["grad_norm"] = norm
    timing["optim"] += time.perf_counter() - t0


def update_metrics(run, batch, sums, timing, alpha, valid_frac, n_tokens, n_chunks) -> dict:
    mu = run.cfg.algo.updates_per_rollout
    out = {"loss/policy": run.global_sum(sums["loss"]) / mu, "gpg/alpha": alpha, "gpg/valid_group_frac": valid_frac,
           "optim/lr": run.scheduler.get_last_lr()[0], "train/micro_batches": n_chunks,
           "train/skipped_steps": run.skipped_total, **{f"time/{k}": v for k, v in timing.items()}}
    for key in ("clip_frac", "kl"):
        if key in sums:
            out[f"loss/{key}"] = run.global_sum(sums[key]) / (mu * n_tokens)
    if batch.sampling_logprobs is not None:
        fresh = run.global_sum(sums["fresh_tokens"])
        if fresh:
            out["rollout/logprob_diff"] = run.global_sum(sums["mismatch"]) / fresh  # k3 KL(rollout || train)
            out["rollout/logprob_abs_diff"] = run.global_sum(sums["abs_diff"]) / fresh
        stale = run.global_sum(sums["stale_tokens"])
        if stale:
            out["gpg/carried_kl"] = run.global_sum(sums["stale_k3"]) / stale
    if "grad_norm" in sums:
        out["optim/grad_norm"] = sums["grad_norm"]
    return out


def same_count_micro_batches(run, batch: RolloutBatch) -> list[list[int]]:
    """Token-sized micro-batches, as many on every process.

    ZeRO-2/3 and FSDP run collectives inside every forward/backward, so a process with
    fewer micro-batches than another would hang. A process with fewer splits its largest
    chunks until it has as many: a piece of a chunk never costs more tokens than the chunk,
    so the budget holds.
    """
    packed = run.forward is packed_logprobs  # budget the layout the forward will run
    chunks = micro_batches(batch, run.cfg.optim.micro_batch_tokens, packed)
    acc = run.accelerator
    if acc.num_processes == 1:
        return chunks
    n = int(acc.gather(torch.tensor([len(chunks)], device=acc.device)).max())
    return split_to_count(chunks, n, batch.group_size)


def split_to_count(chunks: list[list[int]], n: int, group_size: int) -> list[list[int]]:
    """Split the largest chunks in two until there are n (at a group boundary where the
    chunk holds several groups, so each prompt still runs once per piece)."""
    chunks = [list(c) for c in chunks]
    while len(chunks) < n:
        i = max(range(len(chunks)), key=lambda k: len(chunks[k]))
        rows = chunks[i]
        if len(rows) < 2:
            raise ValueError(f"cannot split {len(chunks)} micro-batches into {n}: too few rows")
        groups = sorted({r // group_size for r in rows})
        if len(groups) > 1:  # the first row of the middle group
            middle = groups[len(groups) // 2]
            cut = next(k for k, r in enumerate(rows) if r // group_size == middle)
        else:
            cut = len(rows) // 2
        chunks[i:i + 1] = [rows[:cut], rows[cut:]]
    return chunks
