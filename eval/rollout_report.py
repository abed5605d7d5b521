"""The rollout report during training: a few of a step's rollouts on one HTML page.

`python -m gpg_vl.train` hands `write_rollout_report` to the trainer as its `report` hook
(gpg_vl.hooks); every `log.report_every` steps the main process calls it with the step's
trained RolloutBatch (rewards and advantages set), and it writes
`<log.out_dir>/reports/step-XXXXXX/index.html` with eval's own page code (report.py): each
rollout's image with the true box (green) and the predicted box (red, in original-image
pixels, read back as the `iou` rule reads it), the prompt, the completion, what the rules
read, each rule's reward and the advantage. A reward being gamed shows here before it
shows in the curves: full format reward with no box, answers outside the tags.

The page shows `log.report_groups` whole groups (the advantage is relative to the group):
the groups of best and worst mean reward alternately, each group's rollouts best first.
Under several processes it shows the main process's share of the batch.
"""

from __future__ import annotations

from pathlib import Path

import torch

from gpg_vl.rewards import row_context

from .report import summary, write_page
from .scoring import read_back


def pick_groups(reward_total: torch.Tensor, group_size: int, n: int) -> list[int]:
    """n group indices of a [B*G] reward: best mean, worst, second best, second worst, ...
    (ties by index, so the same batch always shows the same groups)."""
    means = reward_total.view(-1, group_size).mean(dim=1).tolist()  # [B]
    best = sorted(range(len(means)), key=lambda g: (-means[g], g))
    return list(dict.fromkeys(g for pair in zip(best, reversed(best)) for g in pair))[:n]


def rollout_rows(batch, family: str, groups: list[int]) -> list[dict]:
    """The report rows of every rollout of `groups`, each group's best first: report.py's
    row (id, prompt, completion, parsed, score = total reward, task, answer, images) plus
    rewards ({rule: value}; rules of another task's stack left out) and advantage."""
    G = batch.group_size
    group_of = batch.group_index.tolist()  # [B*G]
    ctx = row_context(batch.prompts, group_of, family)
    totals = batch.reward_total.tolist()
    rows = []
    for g in groups:
        for r in sorted(range(g * G, (g + 1) * G), key=lambda r: (-totals[r], r)):
            record, text = batch.prompts.records[g], batch.texts[r]
            rewards = {k: float(v[r]) for k, v in batch.rewards.items() if not torch.isnan(v[r])}
            rows.append({"id": f"{record.id} (group {g}, rollout {r - g * G})", "prompt": batch.prompts.texts[g],
                         "completion": text, "parsed": read_back(text, ctx, r, record), "score": totals[r],
                         "task": record.task, "answer": record.answer, "images": list(record.images),
                         "rewards": rewards, "advantage": float(batch.advantages[r])})
    return rows


def write_rollout_report(run, step: int, batch) -> Path:
    """The report hook: `<log.out_dir>/reports/step-XXXXXX/index.html` for this step's batch."""
    groups = pick_groups(batch.reward_total, batch.group_size, run.cfg.log.report_groups)
    rows = rollout_rows(batch, run.family, groups)
    means = {f"reward/{k}": float(v.nanmean()) for k, v in batch.rewards.items() if not v.isnan().all()}
    means["reward/total"] = float(batch.reward_total.mean())
    intro = (f"step {step}: {len(batch.texts)} rollouts ({batch.num_groups} groups x {batch.group_size}), "
             f"{summary(means)}. Showing {len(groups)} groups, best and worst mean reward alternately, "
             "each best rollout first")
    folder = Path(run.cfg.log.out_dir) / "reports" / f"step-{step:06d}"
    return write_page(rows, folder, f"rollouts - step {step}", intro)
