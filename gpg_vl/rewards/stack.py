"""A weighted set of reward rules, as a preset declares it:

    rewards:
      weights: {iou_hit: 1.0, format: 1.0}
      args: {iou_hit: {threshold: 0.75}}

Each rule's scores are kept separately (logged as `reward/<name>`); `total` is the
weighted sum the advantages are computed from. The stack is the last line of defence of
the contract "a reward never raises on model output": a rule that raises, returns the
wrong number of scores, or returns NaN/inf/non-numbers gives 0.0 for the affected items,
and each such item is counted in `error_counts[name]`. When a whole-batch call fails, the
items are re-scored one at a time so that one bad completion costs only its own score.

A rule may count events of its own in a `counters` attribute (a Counter on the function,
e.g. answer_match's "unparsed_gold"); the stack logs each as `reward/<name>_<event>`, the
fraction of the last batch in which it happened.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any

from .context import RewardContext
from .guard import DeadlineExceeded
from .registry import RewardFn, get_reward


@dataclass
class _Rule:
    name: str
    fn: RewardFn
    weight: float
    options: dict[str, Any] = field(default_factory=dict)


def _check_options(name: str, fn: RewardFn, options: dict[str, Any]) -> None:
    """Every option must be a parameter of the rule after (completions, samples, ctx)."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return  # builtins / C callables: cannot inspect, the dry run will tell
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return
    accepted = [p.name for p in params[3:] if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for option in options:
        if option not in accepted:
            raise ValueError(f"reward {name!r} does not accept option {option!r}; "
                             f"it accepts: {', '.join(accepted) or 'no options'}")


class RewardStack:
    """Rules with weights and options; call it on a batch to get per-rule scores."""

    def __init__(self, rules: list[_Rule]):
        self._rules = rules
        self.names: list[str] = [r.name for r in rules]
        self.error_counts: dict[str, int] = {r.name: 0 for r in rules}
        self.last_events: dict[str, float] = {}
        """`reward/<rule>_<event>` -> fraction of the last batch (module docstring)."""

    @classmethod
    def from_config(cls, weights: dict[str, float],
                    args: dict[str, dict] | None = None) -> "RewardStack":
        """Resolve every rule (see registry.get_reward), bind its options, check them."""
        args = dict(args or {})
        stray = sorted(set(args) - set(weights))
        if stray:
            raise ValueError(f"options given for reward(s) {', '.join(stray)} that are not in the "
                             f"weights ({', '.join(weights)})")
        rules = []
        for name, weight in weights.items():
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) \
                    or not math.isfinite(weight):
                raise ValueError(f"reward {name!r}: weight must be a finite number, got {weight!r}")
            options = dict(args.get(name) or {})
            fn = get_reward(name)
            _check_options(name, fn, options)
            try:  # an empty batch: the rule validates option values without scoring anything
                fn([], [], RewardContext(), **options)
            except Exception as exc:
                raise ValueError(f"reward {name!r} rejected options {options}: {exc}") from exc
            rules.append(_Rule(name, fn, float(weight), options))
        return cls(rules)

    def __call__(self, completions: list[str], samples: list[Any],
                 ctx: RewardContext) -> dict[str, list[float]]:
        """{rule name: [score per completion]} in `names` order. Never raises on text."""
        if len(completions) != len(samples):
            raise ValueError(f"{len(completions)} completions but {len(samples)} samples")
        self.last_events = {}
        out = {}
        for rule in self._rules:
            counters = getattr(rule.fn, "counters", None)
            before = dict(counters) if isinstance(counters, dict) else None
            out[rule.name] = self._score(rule, completions, samples, ctx)
            if before is not None and completions:
                self.last_events.update({
                    f"reward/{rule.name}_{event}": min(1.0, (count - before.get(event, 0)) / len(completions))
                    for event, count in counters.items()})
        return out

    def _score(self, rule: _Rule, completions: list[str], samples: list[Any],
               ctx: RewardContext) -> list[float]:
        n = len(completions)
        try:
            values = list(rule.fn(completions, samples, ctx, **rule.options))
            if len(values) != n:
                raise ValueError(f"returned {len(values)} scores for {n} completions")
        except (Exception, DeadlineExceeded):
            if n <= 1:
                self.error_counts[rule.name] += n
                return [0.0] * n
            return [self._score(rule, [completions[i]], [samples[i]], ctx.select([i]))[0]
                    for i in range(n)]
        return [self._valid(rule.name, v) for v in values]

    def _valid(self, name: str, value: Any) -> float:
        try:
            value = float(value)
        except (TypeError, ValueError):
            value = math.nan
        if math.isfinite(value):
            return value
        self.error_counts[name] += 1
        return 0.0

    def score(self, completions: list[str], samples: list[Any],
              ctx: RewardContext) -> tuple[dict[str, list[float]], list[float]]:
        """(rule -> [B] scores, [B] weighted totals): the trainer's one call (as TaskRewards.score)."""
        scores = self(completions, samples, ctx)
        return scores, self.total(scores)

    def total(self, scores: dict[str, list[float]]) -> list[float]:
        """Weighted sum of the rules' scores, per completion."""
        n = len(next(iter(scores.values()), []))
        return [sum(r.weight * scores[r.name][i] for r in self._rules) for i in range(n)]

    def metrics(self, scores: dict[str, list[float]]) -> dict[str, float]:
        """Batch means as stable metric names: reward/<name>, reward/total, and the
        cumulative reward_errors/<name>."""
        out = {f"reward/{name}": sum(v) / len(v) for name, v in scores.items() if v}
        total = self.total(scores)
        if total:
            out["reward/total"] = sum(total) / len(total)
        out.update(self.last_events)
        out.update({f"reward_errors/{name}": float(c) for name, c in self.error_counts.items()})
        return out
