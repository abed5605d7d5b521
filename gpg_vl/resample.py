"""beta_th resampling: draw more groups until enough are valid, and keep the surplus.

GPG trains only on groups whose rewards differ (degenerate groups have zero advantage).
When the valid fraction of a fresh batch is below beta_th, more prompts are drawn,
generated and scored, up to `max_attempts` rollouts per step. The trained batch is the
valid groups first, topped up with degenerate ones to B. Unlike the reference code,
surplus valid groups are not thrown away: they are carried to the next step (at most B,
so every carried group is used there). Carried groups were sampled by the previous
policy: they are marked `stale`, and the update weights their tokens by a truncated
importance ratio (`algo.carry_is_cap`); `keep_surplus=False` drops them instead. All
stopping decisions use GLOBAL counts, so every process makes the same number of attempts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from .algos import valid_groups
from .rollout.batch import RolloutBatch


@dataclass
class Collected:
    batch: RolloutBatch          # exactly B groups, valid ones first
    first: RolloutBatch          # the step's first fresh rollout, unselected (for metrics)
    num_valid: int               # valid groups in `batch` (this process)
    attempts: int
    carried_in: int              # groups used from the previous step's surplus
    carry: RolloutBatch | None   # surplus valid groups for the next step
    dropped: int                 # valid groups generated but discarded (over the cap)


def collect_groups(draw: Callable[[], RolloutBatch], num_groups: int, beta_th: float,
                   max_attempts: int, std_tol: float, carry: RolloutBatch | None,
                   global_sum: Callable[[int], int], pad_token_id: int,
                   keep_surplus: bool = True) -> Collected:
    valid_parts = [carry] if carry is not None and carry.num_groups else []
    carried_in = valid_parts[0].num_groups if valid_parts else 0
    degenerate_parts: list[RolloutBatch] = []
    target = math.ceil(beta_th * global_sum(num_groups))
    first, attempts, n_valid = None, 0, carried_in
    while True:
        fresh = draw()
        attempts += 1
        first = first or fresh
        ok = valid_groups(fresh.reward_total, fresh.group_size, std_tol).tolist()
        valid_parts.append(fresh.select_groups([g for g, v in enumerate(ok) if v]))
        degenerate_parts.append(fresh.select_groups([g for g, v in enumerate(ok) if not v]))
        n_valid += sum(ok)
        if global_sum(min(n_valid, num_groups)) >= target or attempts >= max_attempts:
            break
    valid = RolloutBatch.cat(valid_parts, pad_token_id)
    used = min(valid.num_groups, num_groups)
    parts = [valid.select_groups(list(range(used)))]
    if used < num_groups:
        degenerate = RolloutBatch.cat(degenerate_parts, pad_token_id)
        parts.append(degenerate.select_groups(list(range(num_groups - used))))
    batch = RolloutBatch.cat(parts, pad_token_id)
    surplus = list(range(used, valid.num_groups))
    kept = surplus[:num_groups] if keep_surplus else []
    carry = valid.select_groups(kept) if kept else None
    if carry is not None:  # sampled by this step's policy: one update stale when trained next step
        carry.stale = torch.ones(carry.completion_ids.shape[0], dtype=torch.bool)
    return Collected(batch=batch, first=first, num_valid=used, attempts=attempts,
                     carried_in=carried_in, carry=carry, dropped=len(surplus) - len(kept))
