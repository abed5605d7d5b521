"""Batched, resumable inference over one benchmark: records -> sample rows.

    rows, stats = run_benchmark(bench, records, engine, collator, family, store,
                                Sampling(bench.max_new_tokens, greedy=True))

Records are cut into FIXED batches of the full selection, and a batch is generated only
for its items not yet in the samples file. So a resumed run pads and batches every item
exactly as an uninterrupted run does, and greedy decoding gives the same completions
(left-padding a prompt differently can flip a near-tie argmax).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass

from tqdm import tqdm

from gpg_vl.rewards import row_context
from gpg_vl.rollout import Sampling

from .registry import Benchmark, EvalError
from .store import SampleStore

PEER_SEED = 42


@dataclass
class RunStats:
    generated: int = 0
    """Items generated and scored by this run (resumed items excluded)."""
    seconds: float = 0.0
    """Wall time of generation and scoring in this run."""

    @property
    def samples_per_s(self) -> float:
        return self.generated / self.seconds if self.seconds > 0 else 0.0


def select_records(records: list, bench: Benchmark, protocol: str = "full", limit: int = 0) -> list:
    """The items to evaluate: all of them, or the peers' seeded subsample; then the first `limit`.

    The peers' subsample (VLM-R1) is `random.seed(42); random.shuffle(items); items[:N]`,
    reproduced with a private Random so the global RNG is untouched.
    """
    if protocol not in ("full", "peers"):
        raise EvalError(f"unknown protocol {protocol!r}; valid: full, peers")
    repeated = [i for i, n in Counter(r.id for r in records).items() if n > 1]
    if repeated:
        raise EvalError(f"{bench.name}: record ids must be unique (resuming keys on them); "
                        f"{repeated[0]!r} repeats")
    chosen = list(records)
    if protocol == "peers" and bench.peer_sample:
        random.Random(PEER_SEED).shuffle(chosen)
        chosen = chosen[:bench.peer_sample]
    if bench.prepare is not None:
        chosen = [bench.prepare(r) for r in chosen]
    return chosen[:limit] if limit else chosen


def run_benchmark(bench: Benchmark, records: list, engine, collator, family: str, store: SampleStore,
                  sampling: Sampling, *, batch_size: int = 8, progress: bool = True,
                  desc: str | None = None) -> tuple[list[dict], RunStats]:
    """Evaluate `records` (skipping those in `store`) with one completion each, decoded per
    `sampling`; append each batch's rows as it is scored, and return every record's row in
    record order."""
    done = store.read()
    stats = RunStats()
    wanted = {r.id for r in records}
    bar = tqdm(total=len(records), initial=len(wanted & done.keys()), unit="sample",
               desc=desc or bench.name, disable=not progress, dynamic_ncols=True)
    try:
        for start in range(0, len(records), batch_size):
            todo = [r for r in records[start:start + batch_size] if r.id not in done]
            if not todo:
                continue
            t0 = time.perf_counter()
            rows = _evaluate_batch(bench, todo, engine, collator, family, sampling)
            stats.seconds += time.perf_counter() - t0
            stats.generated += len(rows)
            store.append(rows)
            done.update((row["id"], row) for row in rows)
            bar.update(len(rows))
    finally:
        bar.close()
    return [done[r.id] for r in records], stats


def _evaluate_batch(bench: Benchmark, records: list, engine, collator, family: str,
                    sampling: Sampling) -> list[dict]:
    prompts = collator(records)
    texts = engine.generate(prompts, 1, sampling).texts
    items = bench.scorer(texts, records, row_context(prompts, list(range(len(records))), family))
    return [sample_row(record, collator.prompt_text(record), text, item,
                       bench.groups(record) if bench.groups else {})
            for record, text, item in zip(records, texts, items)]


def sample_row(record, prompt: str, completion: str, item, groups: dict) -> dict:
    """One line of the samples file: what was asked, answered, read and scored."""
    return {"id": record.id, "prompt": prompt, "completion": completion, "parsed": item.parsed,
            "score": item.score, "values": item.values, "groups": groups,
            "task": record.task, "answer": record.answer, "choices": record.choices,
            "images": [str(i) for i in record.images if isinstance(i, str)],
            "image_sizes": record.meta.get("original_sizes")}
