"""Forward + backward time of the training forward over G: packed vs per-row.

8 prompts x G completions of 32 tokens on the benchmark's tiny Qwen2-VL, for G in
{2, 4, 8, 16}. The packed forward holds P + G x (C - 1) tokens per prompt, the per-row one
G x (P + C): the table shows time following the token count each layout really runs.
Called by bench/train_step_bench.py in its own process; the two layouts alternate, and
each cell is the median of `reps` timings after one warm-up.
"""

from __future__ import annotations

import statistics
import time

import torch


def sweep_batch(prompts, G: int, C: int, suppress: list[int], vocab: int, seed: int = 0):
    """A RolloutBatch of these prompts x G full-length random completions (no suppressed ids)."""
    from gpg_vl.rollout.batch import RolloutBatch

    allowed = torch.tensor(sorted(set(range(vocab)) - set(suppress)))
    g = torch.Generator().manual_seed(seed)
    n = len(prompts) * G
    ids = allowed[torch.randint(len(allowed), (n, C), generator=g)]
    return RolloutBatch(prompts=prompts, group_size=G, completion_ids=ids,
                        completion_mask=torch.ones(n, C, dtype=torch.long), texts=[""] * n)


def fwd_bwd_seconds(model, fn, batch, suppress: torch.Tensor) -> float:
    rows = list(range(batch.completion_ids.shape[0]))
    t0 = time.perf_counter()
    lp, mask = fn(model, batch, rows, 1.0, suppress)
    ((lp * mask).sum() / mask.sum()).backward()
    model.zero_grad(set_to_none=True)
    return time.perf_counter() - t0


def run_sweep(model_dir: str, data: str, groups=(2, 4, 8, 16), prompts_n: int = 8, C: int = 32,
              reps: int = 5) -> list[dict]:
    from gpg_vl.config import ModelConfig
    from gpg_vl.data.collator import PromptCollator
    from gpg_vl.data.loading import load_records
    from gpg_vl.families import family_of
    from gpg_vl.forward import packed_logprobs, row_logprobs
    from gpg_vl.models import load_policy
    from gpg_vl.rollout.tokens import suppressed_ids

    model, processor = load_policy(ModelConfig(path=model_dir))
    model.train()
    prompts = PromptCollator(processor, family_of(model), max_prompt_length=512)(load_records(data)[:prompts_n])
    vocab = model.config.text_config.vocab_size
    suppress = suppressed_ids(model, processor.tokenizer)
    P = int(prompts.attention_mask.sum())  # real prompt tokens, all prompts
    out = []
    for G in groups:
        batch = sweep_batch(prompts, G, C, suppress, vocab)
        times = {"packed": [], "per-row": []}
        for rep in range(reps + 1):
            for name, fn in (("packed", packed_logprobs), ("per-row", row_logprobs)):
                t = fwd_bwd_seconds(model, fn, batch, torch.tensor(suppress))
                if rep:  # the first round warms up
                    times[name].append(t)
        out.append({"G": G, "prompt_tokens": P, "completion_tokens": prompts_n * G * C,
                    "packed_tokens": P + prompts_n * G * (C - 1),
                    "per_row_tokens": prompts_n * G * (prompts.input_ids.shape[1] + C),
                    "packed_s": statistics.median(times["packed"]),
                    "per_row_s": statistics.median(times["per-row"])})
    return out
