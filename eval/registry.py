"""The benchmark registry: the one place users plug in a benchmark.

A benchmark is a scorer with one signature,

    scorer(completions: list[str], records: list[Record], ctx: RewardContext) -> list[Item]

(one Item per completion, scored by the training reward rules, see scoring.py), registered
under a name with the facts of its published protocol:

    @register_benchmark("geoqa_test", data="geoqa/test.jsonl", template="r1_number",
                        metrics=accuracy)
    def score_geoqa(completions, records, ctx): ...

The same scorer may be registered under several names (RefCOCO's eight splits share one).
A duplicate name fails; an unknown name fails listing the valid ones. `get_benchmark`
also takes "package.module:name": the module is imported (its decorators register its
benchmarks; it must be importable, e.g. on PYTHONPATH) and `name` is then looked up.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from gpg_vl.data.record import Record


class EvalError(ValueError):
    """A problem with the user's request (names, paths, settings); shown without a trace."""


@dataclass(frozen=True)
class Item:
    """One completion, scored.

    score: the item's quality in [0, 1] (IoU, or 1/0 for a right/wrong answer); the
    visual report sorts by it, worst first. values: what the metrics aggregate, e.g.
    {"iou": 0.62, "hit": 1.0}. parsed: what the rule read from the completion (a box in
    original-image pixels, or the answer text), shown in the report.
    """

    score: float
    values: dict[str, float]
    parsed: Any = None


Scorer = Callable[[list[str], list[Record], Any], list[Item]]
Metrics = Callable[[list[dict]], dict[str, float]]
"""metrics(rows) -> {metric: value}; rows are the per-sample dicts of the samples file."""


@dataclass(frozen=True)
class Benchmark:
    name: str
    scorer: Scorer
    data: str
    """Default records file, relative to the data root (e.g. "refcoco/val.jsonl")."""
    template: str
    """Prompt template of the published protocol: a name in gpg_vl.data.templates or a
    format string with {question}."""
    metrics: Metrics
    headline: str
    """The metric shown in the summary table."""
    max_new_tokens: int = 256
    peer_sample: int = 0
    """Peers' subsample: shuffle with seed 42, keep the first N (0 = none)."""
    groups: Callable[[Record], dict[str, str]] | None = None
    """Per-record group labels stored with each sample (e.g. CV-Bench's task)."""
    prepare: Callable[[Record], Record] | None = None
    """Rewrites a record before prompting (e.g. MathVista's ready-made `query`)."""
    description: str = field(default="", compare=False)


_REGISTRY: dict[str, Benchmark] = {}


def register_benchmark(name: str, *, data: str, template: str, metrics: Metrics, headline: str,
                       **options: Any) -> Callable[[Scorer], Scorer]:
    """Decorator: register `scorer` as benchmark `name` (options: see Benchmark)."""
    def decorator(scorer: Scorer) -> Scorer:
        if name in _REGISTRY:
            raise ValueError(f"benchmark {name!r} is already registered; pick another name")
        doc = (scorer.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = Benchmark(name, scorer, data, template, metrics, headline,
                                    description=options.pop("description", doc[0] if doc else ""),
                                    **options)
        return scorer
    return decorator


def list_benchmarks() -> list[str]:
    return sorted(_REGISTRY)


def get_benchmark(spec: str) -> Benchmark:
    """The benchmark `spec` names (see module docstring)."""
    if spec not in _REGISTRY and ":" in spec:
        target, _, spec = spec.rpartition(":")
        _import(target)
    if spec not in _REGISTRY:
        raise EvalError(f"unknown benchmark {spec!r}; known: {', '.join(list_benchmarks())}. "
                        "Also accepted: 'package.module:name'")
    return _REGISTRY[spec]


def _import(module: str) -> None:
    """Import a benchmark module by dotted name (its decorators register its benchmarks)."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise EvalError(f"cannot import benchmark module {module!r}: {exc}") from exc
