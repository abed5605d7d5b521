"""One run, several tasks: each record's `task` picks its own weighted rule stack.

    rewards:
      by_task:
        grounding: {weights: {iou: 1.0, format: 1.0}}
        math:      {weights: {answer_match: 1.0, format: 1.0}, args: {answer_match: {extract: auto}}}

    task_rewards = TaskRewards.from_config(by_task)
    missing = task_rewards.missing_tasks(records)     # at load: refuse records of these tasks
    out = task_rewards(completions, records, ctx)     # TaskScores
    out.totals                                        # [B] weighted total of each row's own stack
    task_rewards.metrics(out)                         # reward/<task>/<rule>, reward/<task>/total, ...

Rows are grouped by task, each group is scored by its stack on its own sub-batch (with
`ctx.select` of its rows), and the results are put back in row order. A GPG group shares
one prompt, so one task; mixing tasks across groups changes nothing in the advantages.
A task with no stack is a configuration error, not model output: the call raises, and
`missing_tasks` lets the loader refuse such records before any model work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .context import RewardContext
from .stack import RewardStack

_STACK_KEYS = {"weights", "args"}


@dataclass
class TaskScores:
    """What one call returns. B = number of completions."""

    scores: dict[str, list[float]] = field(default_factory=dict)
    """`<task>/<rule>` -> scores of that task's rows, in the order of `rows[task]`."""
    rows: dict[str, list[int]] = field(default_factory=dict)
    """task -> indices (into the batch) of its rows."""
    totals: list[float] = field(default_factory=list)
    """[B] each row's weighted total under its own task's stack."""
    errors: dict[str, int] = field(default_factory=dict)
    """`<task>/<rule>` -> items that rule failed on so far (cumulative, as RewardStack)."""


class TaskRewards:
    """A RewardStack per task; call it on a mixed batch (module docstring)."""

    def __init__(self, stacks: dict[str, RewardStack]):
        if not stacks:
            raise ValueError("rewards.by_task needs at least one task")
        self.stacks = dict(stacks)

    @classmethod
    def from_config(cls, by_task: dict[str, dict]) -> "TaskRewards":
        """Build each task's stack from `{task: {weights: {...}, args: {...}}}`."""
        if not isinstance(by_task, dict) or not by_task:
            raise ValueError("rewards.by_task must map task names to {weights, args}")
        stacks = {}
        for task, spec in by_task.items():
            if not isinstance(spec, dict) or not isinstance(spec.get("weights"), dict):
                raise ValueError(f"rewards.by_task.{task}: expected {{weights: {{rule: weight}}, "
                                 f"args: {{rule: {{option: value}}}}}}, got {spec!r}")
            stray = sorted(set(spec) - _STACK_KEYS)
            if stray:
                raise ValueError(f"rewards.by_task.{task}: unknown key(s) {', '.join(stray)}; "
                                 f"known: args, weights")
            try:
                stacks[str(task)] = RewardStack.from_config(spec["weights"], spec.get("args"))
            except ValueError as exc:
                raise ValueError(f"rewards.by_task.{task}: {exc}") from exc
        return cls(stacks)

    @property
    def tasks(self) -> list[str]:
        return list(self.stacks)

    def missing_tasks(self, records: list[Any]) -> list[str]:
        """Tasks of `records` that have no stack, sorted (empty: every record is covered)."""
        return sorted({str(r.task) for r in records} - set(self.stacks))

    def __call__(self, completions: list[str], samples: list[Any],
                 ctx: RewardContext) -> TaskScores:
        """Score every row with its task's stack. Never raises on text; raises ValueError
        for rows whose task has no stack."""
        if len(completions) != len(samples):
            raise ValueError(f"{len(completions)} completions but {len(samples)} samples")
        missing = self.missing_tasks(samples)
        if missing:
            raise ValueError(f"no reward stack for task(s) {', '.join(missing)}; "
                             f"rewards.by_task has: {', '.join(self.stacks)}")
        out = TaskScores(totals=[0.0] * len(completions))
        for task, stack in self.stacks.items():
            rows = [i for i, r in enumerate(samples) if str(r.task) == task]
            if not rows:
                continue
            scores = stack([completions[i] for i in rows], [samples[i] for i in rows],
                           ctx.select(rows))
            out.rows[task] = rows
            out.scores.update({f"{task}/{name}": values for name, values in scores.items()})
            for i, total in zip(rows, stack.total(scores)):
                out.totals[i] = total
        out.errors = {f"{task}/{name}": count for task, stack in self.stacks.items()
                      for name, count in stack.error_counts.items()}
        return out

    def score(self, completions: list[str], samples: list[Any],
              ctx: RewardContext) -> tuple[dict[str, list[float]], list[float]]:
        """(`<task>/<rule>` -> [B] scores, NaN on the rows of other tasks; [B] totals): the
        trainer's one call, as RewardStack.score."""
        result = self(completions, samples, ctx)
        columns = {}
        for key, values in result.scores.items():
            column = [math.nan] * len(completions)
            for i, value in zip(result.rows[key.split("/", 1)[0]], values):
                column[i] = value
            columns[key] = column
        for task, rows in result.rows.items():
            column = [math.nan] * len(completions)
            for i in rows:
                column[i] = result.totals[i]
            columns[f"{task}/total"] = column
        return columns, result.totals

    @property
    def error_counts(self) -> dict[str, int]:
        """`<task>/<rule>` -> items that rule failed on so far."""
        return {f"{task}/{name}": count for task, stack in self.stacks.items()
                for name, count in stack.error_counts.items()}

    @property
    def last_events(self) -> dict[str, float]:
        """`reward/<task>/<rule>_<event>` of each task's last call."""
        return {f"reward/{task}/{key.removeprefix('reward/')}": value for task, stack in self.stacks.items()
                for key, value in stack.last_events.items()}

    def metrics(self, result: TaskScores) -> dict[str, float]:
        """`reward/<task>/<rule>` and `reward/<task>/total` (means over the task's rows of
        the last call), `reward/<task>/<rule>_<event>`, `reward/total` (mean over all rows),
        and the cumulative `reward_errors/<task>/<rule>`."""
        out: dict[str, float] = {}
        for task in result.rows:
            stack = self.stacks[task]
            scores = {name: result.scores[f"{task}/{name}"] for name in stack.names}
            for key, value in stack.metrics(scores).items():
                kind, _, rest = key.partition("/")
                if kind == "reward":
                    out[f"reward/{task}/{rest}"] = value
        if result.totals:
            out["reward/total"] = sum(result.totals) / len(result.totals)
        out.update({f"reward_errors/{key}": float(c) for key, c in result.errors.items()})
        return out


def build_rewards(weights: dict, args: dict | None = None, by_task: dict | None = None):
    """The run's scorer: per-task stacks when `rewards.by_task` is set, else one stack."""
    return TaskRewards.from_config(by_task) if by_task else RewardStack.from_config(weights, args)
