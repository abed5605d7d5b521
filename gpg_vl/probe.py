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
import logging
from collections import Counter
from pathlib import Path

from .data.loading import load_records
from .rewards import score_batch
from .rollout import Sampling

log = logging.getLogger(__name__)


def probe(run, when: str) -> dict | None:
    """The probe hook (gpg_vl.hooks): accuracy and controls `when` ("before" / "after") training.

    The main process probes; where generation is collective (weights sharded by ZeRO-3 or
    FSDP, vLLM tensor parallelism) all processes generate the same prompts in step and the
    main one reports.
    """
    main, together = run.accelerator.is_main_process, getattr(run.engine, "collective", False)
    if not run.cfg.probe.size or not (main or together):
        return None
    if together:
        if main:
            probe_records(run)  # written once, before the others read it
        run.accelerator.wait_for_everyone()
    result = run_probe(run)
    if not main:
        return None
    log.info("probe %s training: %s", when, result)
    return result


def probe_records(run) -> list:
    cfg = run.cfg
    if not cfg.data.synthetic:
        raise ValueError("probe.size > 0 needs a synthetic task (data.synthetic); use eval/ otherwise")
    out = Path(cfg.log.out_dir) / "probe_data"
    path = out / "probe.jsonl"
    if not path.exists():
        make_synthetic = run.hooks.need("make_synthetic", f"probe.size={cfg.probe.size}")
        make_synthetic(cfg.data.synthetic, cfg.probe.size, out, "probe", cfg.seed + 1)
    return load_records(path)


def greedy_scores(run, records: list, batch_prompts: int = 64) -> list[float]:
    """The stack's total reward of each greedy completion (probe.max_new_tokens long at most)."""
    sampling = Sampling(max_new_tokens=run.cfg.probe.max_new_tokens, greedy=True)
    out: list[float] = []
    for start in range(0, len(records), batch_prompts):
        batch = run.engine.generate(run.collator(records[start:start + batch_prompts]), 1, sampling)
        score_batch(run.rewards, batch, run.family)
        out += batch.reward_total.tolist()
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
