"""Rollout speed of the HF engine: shared-prefix decoding vs `generate(num_return_sequences=G)`.

    python bench/rollout_bench.py [--reps 5] [--threads 2] [--out bench/results/rollout_cpu.md]

Same engine, same prompts, same sampling (temperature 1, the project's suppressed ids);
only the decoding path differs. Shared-prefix decoding prefills each prompt once and
reads its keys/values once per group at every step; `num_return_sequences` prefills and
reads the prompt G times. The gap grows with the prompt, so the images are resized to
several sizes (16 to 256 image tokens). Model and data are the train-step benchmark's
(2.9M-parameter tiny Qwen2-VL, 8 synthetic count records), 8 prompts x G=8 x 32 new
tokens. Each cell: median of `--reps` timed calls after one warm-up, both paths
alternating. Tokens/s counts generated tokens (the random model rarely stops early).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

SIDES = (112, 224, 448)  # square image side in pixels -> (side / 28)^2 image tokens


def build(work: Path, side: int, prompts_n: int):
    """(engine, prompts) for images resized to side x side."""
    import torch

    from gpg_vl.config import ModelConfig, VisionConfig
    from gpg_vl.data.collator import PromptCollator
    from gpg_vl.data.loading import load_records
    from gpg_vl.families import family_of
    from gpg_vl.models import load_policy
    from gpg_vl.rollout import build_engine, policy_tokens
    from train_step_bench import prepare

    model_dir, data = prepare(work)
    model, processor = load_policy(ModelConfig(path=model_dir), VisionConfig(side * side, side * side))
    prompts = PromptCollator(processor, family_of(model), side * side, side * side, max_prompt_length=2048)(
        load_records(data)[:prompts_n])
    engine = build_engine("hf", model, processor, **policy_tokens(model, processor))
    torch.manual_seed(0)
    return engine, prompts


def timed(engine, prompts, G: int, shared: bool) -> tuple[float, int]:
    """(seconds, generated tokens) of one engine.generate call on the chosen path."""
    from gpg_vl.rollout import Sampling, shared_prefix

    real = shared_prefix.supports
    shared_prefix.supports = real if shared else (lambda model: False)
    try:
        t0 = time.perf_counter()
        batch = engine.generate(prompts, G, Sampling(max_new_tokens=32, temperature=1.0))
        return time.perf_counter() - t0, int(batch.completion_mask.sum())
    finally:
        shared_prefix.supports = real


def main(argv: list[str] | None = None) -> None:
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--prompts", type=int, default=8)
    p.add_argument("--G", type=int, default=8)
    p.add_argument("--work", default="runs/bench-train-step")
    p.add_argument("--out", default=str(HERE / "results" / "rollout_cpu.md"))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for side in SIDES:
        engine, prompts = build(Path(args.work), side, args.prompts)
        times = {True: [], False: []}
        tokens = {True: [], False: []}
        for rep in range(args.reps + 1):
            for shared in (True, False):
                seconds, n = timed(engine, prompts, args.G, shared)
                if rep:  # the first round warms up
                    times[shared].append(seconds)
                    tokens[shared].append(n)
        P = prompts.input_ids.shape[1]
        image_tokens = int(prompts.mm_token_type_ids[0].sum())
        row = {"side": side, "prompt": P, "image": image_tokens}
        for shared in (True, False):
            s = statistics.median(times[shared])
            row[shared] = (s, statistics.mean(tokens[shared]) / s)
        rows.append(row)
        print(f"{side}px: prompt {P} tokens; shared-prefix {row[True][0]:.3f} s, "
              f"num_return_sequences {row[False][0]:.3f} s", flush=True)
    lines = [
        "# HF engine rollout on a CPU: shared-prefix decoding vs generate(num_return_sequences)", "",
        f"Written by `python bench/rollout_bench.py --reps {args.reps} --threads {args.threads}` on "
        f"{time.strftime('%Y-%m-%d %H:%M')}. {args.prompts} prompts x G={args.G} x 32 new tokens, temperature 1, "
        "tiny Qwen2-VL (2.9M parameters), fp32; median of the timed calls.", "",
        "| image | prompt tokens (image tokens) | shared-prefix s | tokens/s | num_return_sequences s | tokens/s | speed-up |",
        "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['side']}x{r['side']} | {r['prompt']} ({r['image']}) | {r[True][0]:.3f} | {r[True][1]:.0f} | "
                     f"{r[False][0]:.3f} | {r[False][1]:.0f} | {r[False][0] / r[True][0]:.2f}x |")
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
