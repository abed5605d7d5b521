"""Does the policy look at the image? Greedy reward on fresh synthetic images, against the
best image-blind reward and a shuffled-image control.

A rising reward can be earned by learning the answer format while ignoring the image.
So a synthetic run measures, before and after training (and every `probe.every` steps):
- `accuracy`: the greedy completions' reward on fresh images, as a share of the stack's
  maximum, and each rule's mean (`reward/<rule>`);
- `blind_best_accuracy`: the best share one fixed answer reaches on every question (an
  image-blind policy's ceiling: apart from the grounding task's colour word the questions
  are identical, and the target's place is independent of it), over the distinct true
  answers of the probe set (up to BLIND_CANDIDATES of them);
- `shuffled_image_accuracy`: each question asked with a seeded random OTHER record's image
  (a derangement: converters write records sorted by label, so the next record's image
  would mostly hold the same answer); a policy that reads the image falls to blind level;
- for label answers (classification, counts): `accuracy/<label>` per true label and
  `predicted/<label>` (share of completions read as each label, `predicted/other` for
  none), so a policy that has stopped saying some labels is visible in the numbers.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections import Counter
from pathlib import Path

import torch

from .data.loading import load_records
from .rewards import score_batch
from .rollout import RolloutBatch, Sampling

log = logging.getLogger(__name__)

BLIND_CANDIDATES = 64
MAX_LABELS = 20  # answers with at most this many distinct values are labels (per-label report)


def probe(run, when: str) -> dict | None:
    """The probe hook (gpg_vl.hooks): the report `when` ("before" / "after" training, or
    "step N": `probe.every`, which skips the controls). The main process probes; where
    generation is collective (weights sharded by ZeRO-3 or FSDP, vLLM tensor parallelism)
    all processes generate the same prompts in step and the main one reports.
    """
    main, together = run.accelerator.is_main_process, getattr(run.engine, "collective", False)
    if not run.cfg.probe.size or not (main or together):
        return None
    if together:
        if main:
            probe_records(run)  # written once, before the others read it
        run.accelerator.wait_for_everyone()
    result = run_probe(run, full=when in ("before", "after"))
    if not main:
        return None
    log.info("probe %s: %s", when, result)
    return result


def probe_records(run) -> list:
    cfg = run.cfg
    if cfg.probe.data:
        return load_records(cfg.probe.data)[:cfg.probe.size]
    if not cfg.data.synthetic:
        raise ValueError("probe.size > 0 needs a synthetic task (data.synthetic); use eval/ otherwise")
    out = Path(cfg.log.out_dir) / "probe_data"
    path = out / "probe.jsonl"
    if not path.exists():
        make_synthetic = run.hooks.need("make_synthetic", f"probe.size={cfg.probe.size}")
        make_synthetic(cfg.data.synthetic, cfg.probe.size, out, "probe", cfg.seed + 1)
    return load_records(path)


def greedy(run, records: list, batch_prompts: int = 64) -> list[RolloutBatch]:
    """Scored batches of the records' greedy completions (probe.max_new_tokens at most)."""
    sampling = Sampling(max_new_tokens=run.cfg.probe.max_new_tokens, greedy=True)
    out = []
    for start in range(0, len(records), batch_prompts):
        batch = run.engine.generate(run.collator(records[start:start + batch_prompts]), 1, sampling)
        score_batch(run.rewards, batch, run.family)
        out.append(batch)
    return out


def rescored(run, batch: RolloutBatch, texts: list[str] | None = None, records: list | None = None) -> RolloutBatch:
    """`batch` scored again with other completions and/or other records (same prompts and images)."""
    prompts = batch.prompts if records is None else dataclasses.replace(batch.prompts, records=records)
    texts = batch.texts if texts is None else texts
    n = len(texts)
    out = RolloutBatch(prompts, 1, torch.zeros(n, 1, dtype=torch.long), torch.ones(n, 1, dtype=torch.long), texts)
    score_batch(run.rewards, out, run.family)
    return out


def means(batches: list[RolloutBatch], names: list[str]) -> dict:
    return {name: float(torch.cat([b.rewards[name] for b in batches]).nanmean()) for name in names}


def derangement(n: int, seed: int) -> list[int]:
    """A seeded permutation of range(n) with no fixed point (n >= 2)."""
    rng = random.Random(seed)
    while True:
        perm = list(range(n))
        rng.shuffle(perm)
        if all(i != p for i, p in enumerate(perm)):
            return perm


def run_probe(run, full: bool = True) -> dict:
    records = probe_records(run)
    names = list(run.rewards.names)
    top = max(run.rewards.total({n: [1.0] for n in names}))
    batches = greedy(run, records)
    totals = torch.cat([b.reward_total for b in batches])
    out: dict = {"n": len(records), "accuracy": float(totals.mean()) / top}
    out.update({f"reward/{k}": v for k, v in means(batches, names).items()})
    if len({str(r.answer) for r in records}) <= MAX_LABELS and not any(isinstance(r.answer, list) for r in records):
        out.update(label_report(run, batches, top))
    if full and len(records) > 1:
        perm = derangement(len(records), run.cfg.seed + 2)
        shuffled = greedy(run, [dataclasses.replace(r, images=records[j].images) for r, j in zip(records, perm)])
        out["shuffled_image_accuracy"] = float(torch.cat([b.reward_total for b in shuffled]).mean()) / top
        out.update({f"shuffled/reward/{k}": v for k, v in means(shuffled, names).items()})
        best, best_means = blind_best(run, batches)
        out["blind_best_accuracy"] = best / top
        out.update({f"blind/reward/{k}": v for k, v in best_means.items()})
    return out


def blind_best(run, batches: list[RolloutBatch]) -> tuple[float, dict]:
    """(best mean total reward, its rules' means) of one fixed answer given to every record,
    over (up to BLIND_CANDIDATES of) the records' own true answers, each written as the run
    teaches answers (`sft.answer_format`; boxes in the family's convention)."""
    from .families import get
    from .sft import target_completion

    adapter, fmt = get(run.collator.family), run.cfg.sft.answer_format
    seen: dict[str, None] = {}
    for b in batches:
        for i, r in enumerate(b.prompts.records):
            orig = b.prompts.original_sizes[i][0] if b.prompts.original_sizes[i] else None
            inp = b.prompts.input_sizes[i][0] if b.prompts.input_sizes[i] else None
            seen.setdefault(target_completion(r, adapter, orig, inp, fmt), None)
    candidates = list(seen)
    if len(candidates) > BLIND_CANDIDATES:
        candidates = random.Random(0).sample(candidates, BLIND_CANDIDATES)
    best, best_means = -float("inf"), {}
    for text in candidates:
        fixed = [rescored(run, b, [text] * len(b.texts)) for b in batches]
        total = float(torch.cat([b.reward_total for b in fixed]).mean())
        if total > best:
            best, best_means = total, means(fixed, list(run.rewards.names))
    return best, best_means


def label_report(run, batches: list[RolloutBatch], top: float) -> dict:
    """accuracy/<label> per true label and predicted/<label>: the share of completions read
    as each label (the label whose answer the reward stack pays in full), `other` for none."""
    records = [r for b in batches for r in b.prompts.records]
    hits = torch.cat([b.reward_total for b in batches]) / top
    truth = [str(r.answer) for r in records]
    labels = sorted(set(truth), key=lambda t: (len(t), t))
    read = ["other"] * len(records)
    for label in labels:
        paid = torch.cat([rescored(run, b, records=[dataclasses.replace(r, answer=type(r.answer)(label))
                                                    for r in b.prompts.records]).reward_total for b in batches])
        for i in (paid >= top - 1e-6).nonzero().flatten().tolist():
            if read[i] == "other":
                read[i] = label
    out = {}
    for label in labels:
        rows = [i for i, t in enumerate(truth) if t == label]
        out[f"accuracy/{label}"] = float(hits[rows].mean())
    counts = Counter(read)
    for label in [*labels, "other"]:
        out[f"predicted/{label}"] = counts.get(label, 0) / len(records)
    return out
