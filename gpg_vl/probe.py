"""Does the policy look at the image? Greedy accuracy on fresh synthetic images, against
the best image-blind accuracy and a shuffled-image control.

A rising reward can be earned by learning the answer format while ignoring the image.
So the demo measures, before and after training: accuracy on fresh images; the best
accuracy any image-blind policy can reach (every question is identical, so it is the
most frequent answer's share); and accuracy when each question is asked with another
record's image (a policy that reads the image falls back to the blind level there).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

from .data.loading import load_records


def probe_records(run) -> list:
    from data_prep.synthetic import write_synthetic

    cfg = run.cfg
    if not cfg.data.synthetic:
        raise ValueError("probe.size > 0 needs a synthetic task (data.synthetic); use eval/ otherwise")
    out = Path(cfg.log.out_dir) / "probe_data"
    path = out / "probe.jsonl"
    if not path.exists():
        write_synthetic(cfg.data.synthetic, cfg.probe.size, out, "probe", seed=cfg.seed + 1)
    return load_records(path)


def greedy_scores(run, records: list, batch_prompts: int = 64) -> list[float]:
    """The stack's total reward of each greedy completion, normalised to [0, 1] per rule count."""
    from .trainer import score

    engine = run.engine
    saved = engine.max_new_tokens
    engine.max_new_tokens = run.cfg.probe.max_new_tokens
    out: list[float] = []
    try:
        for start in range(0, len(records), batch_prompts):
            batch = engine.generate(run.collator(records[start:start + batch_prompts]), 1, greedy=True)
            score(run, batch)
            out += batch.reward_total.tolist()
    finally:
        engine.max_new_tokens = saved
    return out


def run_probe(run) -> dict:
    records = probe_records(run)
    hits = greedy_scores(run, records)
    shuffled = [dataclasses.replace(r, images=records[(i + 1) % len(records)].images)
                for i, r in enumerate(records)]
    shuffled_hits = greedy_scores(run, shuffled)
    answers = Counter(str(r.answer) for r in records)
    top = max(run.rewards.total({n: [1.0] for n in run.rewards.names}))
    return {"n": len(records),
            "accuracy": sum(hits) / len(hits) / top,
            "blind_best_accuracy": answers.most_common(1)[0][1] / len(records),
            "shuffled_image_accuracy": sum(shuffled_hits) / len(shuffled_hits) / top}
