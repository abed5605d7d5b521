"""The training forward at realistic shapes on a CPU: per-row vs dense-mask packed vs shared-prefix.

    python bench/realistic_shapes.py [--threads 2] [--key-reps 2] [--all-cells] [--out bench/results/realistic_shapes_cpu.md]
    python bench/realistic_shapes.py --key-only --key-reps 3   # the key cell alone, real and 768-token vocabularies

Reduced depth (2 text layers; hidden 256, 4 heads of 64; vision depth 2) but the real
vocabulary (151,936, random weights) and real lengths: one prompt per micro-batch of
P in {256, 1024} tokens including its image (196 image tokens at P=256, 256 at P=1024,
the rest text), G in {4, 8, 16} completions of C in {128, 512} random tokens (none a
suppressed id), temperature 0.7, fp32. Every layout scores its log-probs in lm_head
chunks (logprobs.py), so the three differ only in how attention and the prompt run:

- per-row: G rows of [prompt | completion] under a causal mask (the vision tower G times);
- dense mask: one packed row [prompt | G completions] under the [1, 1, L, L] mask;
- shared prefix: the same packed row through the two-call attention (prefix_attention.py).

Within each cell the three run interleaved (the first order rotates), one warm-up for
the whole grid; a cell's figure is one fwd+bwd (the key cell P=1024, C=512, G=8: the
median of --key-reps). At C=512 only G=8 runs unless --all-cells: on 2 shared cores the
real vocabulary's lm_head alone costs 10-30 ms per scored token (identical work in every
layout), and G=4 / G=16 at C=512 would take longer than the rest of the grid together;
G=4 and G=16 are measured at C=128. Peak memory = the largest RSS a 1 ms sampler saw during the call,
minus RSS before it. Then: one attention layer alone (dense SDPA vs the two calls), the
log-prob step's peak memory today vs chunked (fresh processes), and the FLOP / memory
projection (bench/flop_model.py). Cells left out are named in the results file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

VOCAB = 151_936
MODEL = dict(hidden=256, layers=2, heads=4, vision_width=32, vision_depth=2)
IMAGE = {256: 392, 1024: 448}  # P -> square image side: 14x14 = 196 / 16x16 = 256 merged tokens
GRID = [(P, C, G) for P in (256, 1024) for C in (128, 512) for G in (4, 8, 16)]
SLOWEST = {(P, 512, G) for P in (256, 1024) for G in (4, 16)}  # left out by default (see the docstring)
KEY = (1024, 512, 8)
LAYOUTS = ("per-row", "dense mask", "shared prefix")


class PeakRSS:
    """Largest resident set size seen (1 ms sampling) while the block runs, minus the size before it."""

    def __enter__(self):
        import psutil

        self.proc, self.stop = psutil.Process(), False
        self.base = self.peak = self.proc.memory_info().rss
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()
        return self

    def sample(self):
        while not self.stop:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.001)

    def __exit__(self, *exc):
        self.stop = True
        self.thread.join()
        self.mib = (self.peak - self.base) / 2 ** 20


def build(work: Path, vocab: int = VOCAB):
    """(model, processor) of the tiny Qwen2-VL architecture with `vocab` tokens (the real vocabulary; random init)."""
    from transformers import AutoConfig, AutoModelForImageTextToText

    from gpg_vl.config import ModelConfig
    from gpg_vl.models import load_processor
    from gpg_vl.tiny import build_tiny_model

    path = build_tiny_model(work / "tiny-qwen2-vl-realistic", "qwen2_vl", **MODEL)
    config = AutoConfig.from_pretrained(path)
    config.text_config.vocab_size = vocab
    torch.manual_seed(0)
    model = AutoModelForImageTextToText.from_config(config, dtype=torch.float32, attn_implementation="sdpa")
    model.train()
    return model, load_processor(ModelConfig(path=str(path)))


def prompt_batch(processor, family, work: Path, P: int):
    """One prompt of exactly-or-just-under P tokens: an image and a long enough question."""
    from PIL import Image

    from gpg_vl.data.collator import PromptCollator
    from gpg_vl.data.loading import load_records
    side = IMAGE[P]
    image = work / f"image-{side}.png"
    Image.new("RGB", (side, side), (200, 120, 40)).save(image)
    collate = PromptCollator(processor, family, max_pixels=side * side, max_prompt_length=4096)

    def batch(words: int):
        record = {"id": f"p{P}", "task": "count", "images": [str(image.resolve())], "answer": 1,
                  "problem": " ".join(["how many shapes are there"] * words)}
        path = work / f"prompt-{P}.jsonl"
        path.write_text(json.dumps(record) + "\n")
        return collate(load_records(path))

    lo, hi = 0, P  # the most words that keep the prompt within P tokens
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if batch(mid).input_ids.shape[1] <= P else (lo, mid - 1)
    return batch(lo)


def fwd_bwd(model, layout: str, batch, suppress) -> tuple[float, float]:
    """(seconds, peak MiB) of one forward + backward of the mean token log-prob."""
    from gpg_vl.forward import packed_logprobs, row_logprobs

    rows = list(range(batch.completion_ids.shape[0]))
    fn = {"per-row": row_logprobs, "dense mask": lambda *a: packed_logprobs(*a, dense_mask=True),
          "shared prefix": packed_logprobs}[layout]
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        lp, mask = fn(model, batch, rows, 0.7, suppress)
        ((lp * mask).sum() / mask.sum()).backward()
        seconds = time.perf_counter() - t0
    model.zero_grad(set_to_none=True)
    return seconds, mem.mib


def run_grid(model, processor, work: Path, skip: set, key_reps: int, grid: list = GRID) -> list[dict]:
    from forward_sweep import sweep_batch
    from gpg_vl.families import family_of
    from gpg_vl.rollout.tokens import suppressed_ids

    suppress = suppressed_ids(model, processor.tokenizer)
    prompts = {P: prompt_batch(processor, family_of(model), work, P) for P in (256, 1024)}
    vocab = model.config.text_config.vocab_size
    warm = sweep_batch(prompts[256], 2, 16, suppress, vocab)
    for layout in LAYOUTS:
        fwd_bwd(model, layout, warm, torch.tensor(suppress))
    out = []
    for i, (P, C, G) in enumerate(grid):
        batch = sweep_batch(prompts[P], G, C, suppress, vocab, seed=i)
        order = LAYOUTS[i % 3:] + LAYOUTS[:i % 3]
        cell = {"P": int(prompts[P].input_ids.shape[1]), "C": C, "G": G}
        runs = {layout: [] for layout in order if (P, C, G, layout) not in skip}
        if not runs:
            continue
        for _ in range(key_reps if (P, C, G) == KEY else 1):
            for layout in runs:
                runs[layout].append(fwd_bwd(model, layout, batch, torch.tensor(suppress)))
        for layout, values in runs.items():
            cell[layout] = {"s": statistics.median(v[0] for v in values), "mib": max(v[1] for v in values),
                            "all_s": [round(v[0], 3) for v in values]}
        print(json.dumps(cell), flush=True)
        out.append(cell)
    return out


def attention_alone(P: int = 1024, C: int = 512, G: int = 8, reps: int = 3) -> dict:
    """One attention call fwd+bwd, [1, 4, L, 64] fp32: dense-mask SDPA vs the two calls."""
    import torch.nn.functional as F

    from gpg_vl.packing import shared_prompt_mask
    from gpg_vl.prefix_attention import prefix_attention, prefix_layout

    segment = torch.cat([torch.zeros(P, dtype=torch.long), torch.arange(1, G + 1).repeat_interleave(C - 1)])[None]
    L = segment.shape[1]
    q, k, v = (torch.randn(1, 4, L, 64, requires_grad=True) for _ in range(3))
    layout, mask = prefix_layout(segment), shared_prompt_mask(segment)
    calls = {"dense mask": lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2),
             "shared prefix": lambda: prefix_attention(None, q, k, v, layout, 64 ** -0.5)}
    times = {name: [] for name in calls}
    for _ in range(reps + 1):
        for name, fn in calls.items():
            t0 = time.perf_counter()
            fn().sum().backward()
            times[name].append(time.perf_counter() - t0)
    return {"P": P, "C": C, "G": G, "L": L, **{n: statistics.median(t[1:]) for n, t in times.items()}}


def logprobs_before_issue_17(head, hidden, targets, temperature, suppress):
    """The log-prob step as forward.py computed it before: all [M, V] logits, then gather - logsumexp."""
    logits = head(hidden).float() / temperature  # what the model's own head returned, scaled
    logits[..., suppress] = float("-inf")
    return logits.gather(-1, targets[:, None]).squeeze(-1) - logits.logsumexp(dim=-1)


def logprob_memory(M: int, chunk: int | None) -> dict:
    """Peak MiB and seconds of the log-prob step alone: hidden [M, 256] -> log-probs -> backward.

    chunk 0: the code before this change (`logprobs_before_issue_17`); else chunked_logprobs.
    """
    from gpg_vl.logprobs import chunked_logprobs

    head = torch.nn.Linear(256, VOCAB, bias=False)
    hidden = torch.randn(M, 256, requires_grad=True)
    targets = torch.randint(1000, VOCAB, (M,))
    suppress = torch.arange(10)
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        if chunk == 0:
            lp = logprobs_before_issue_17(head, hidden, targets, 0.7, suppress)
        else:
            lp = chunked_logprobs(head, hidden, targets, 0.7, suppress, chunk_tokens=chunk)
        lp.sum().backward()
        seconds = time.perf_counter() - t0
    return {"M": M, "chunk": chunk, "mib": mem.mib, "s": seconds}


def spawn_logprob(M: int, chunk: int | None, threads: int) -> dict:
    cmd = [sys.executable, __file__, "--logprob", str(M), str(chunk), "--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--key-reps", type=int, default=2)
    p.add_argument("--logprob-tokens", type=int, nargs="+", default=[1024, 4096])
    p.add_argument("--all-cells", action="store_true", help="also run G=4 and G=16 at C=512")
    p.add_argument("--key-only", action="store_true",
                   help="only the key cell (P=1024, C=512, G=8; dense mask vs shared prefix), with the real vocabulary and with --body-vocab "
                        "tokens (the body and attention without the real lm_head), and the attention call; "
                        "prints JSON lines, writes no report")
    p.add_argument("--body-vocab", type=int, default=768)
    p.add_argument("--work", default="runs/bench-realistic")
    p.add_argument("--out", default=str(HERE / "results" / "realistic_shapes_cpu.md"))
    p.add_argument("--logprob", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.logprob:
        M, chunk = int(args.logprob[0]), None if args.logprob[1] == "None" else int(args.logprob[1])
        print(json.dumps(logprob_memory(M, chunk)))
        return
    from realistic_report import write_report

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    skip = set() if args.all_cells else {(*cell, layout) for cell in SLOWEST for layout in LAYOUTS}
    if args.key_only:
        for vocab in (VOCAB, args.body_vocab):
            model, processor = build(work, vocab)
            for cell in run_grid(model, processor, work, {(*KEY, "per-row")}, args.key_reps, [KEY]):
                print(json.dumps({"vocab": vocab, **cell}), flush=True)
            del model
        print(json.dumps(attention_alone()), flush=True)
        return
    model, processor = build(work)
    grid = run_grid(model, processor, work, skip, args.key_reps)
    del model
    attention = attention_alone()
    print(json.dumps(attention), flush=True)
    memory = [spawn_logprob(M, chunk, args.threads) for M in args.logprob_tokens for chunk in (0, None)]
    print(json.dumps(memory), flush=True)
    print(write_report(args, MODEL, VOCAB, grid, attention, memory, skip, time.perf_counter() - t0))


if __name__ == "__main__":
    main()
