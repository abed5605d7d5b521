"""The training-step benchmark's results file: the step table, per-run figures, the G sweep."""

from __future__ import annotations

import time
from pathlib import Path

SPLITS = ("generate", "forward", "backward", "optimizer", "else")


def step_table(summary: dict, reference: str, completions: int, trl: list[str]) -> list[str]:
    """trl: the TRL configurations' labels; "x TRL best" divides by the fastest of them."""
    ref = summary.get(reference, {}).get("step")
    best = min((summary[name]["step"] for name in trl if name in summary), default=None)
    lines = ["| configuration | s / step | x TRL defaults | x TRL best | completions / s | generate | forward | "
             "backward | optimizer | everything else | peak RSS MiB | mean completion tokens |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, m in summary.items():
        ratio = f"{m['step'] / ref:.2f}" if ref else "-"
        to_best = f"{m['step'] / best:.2f}" if best else "-"
        share = 100 * m["else"] / m["step"]
        lines.append(f"| {name} | {m['step']:.3f} | {ratio} | {to_best} | {completions / m['step']:.1f} | "
                     f"{m['generate']:.3f} | {m['forward']:.3f} | {m['backward']:.3f} | "
                     f"{m['optimizer']:.3f} | {m['else']:.3f} ({share:.1f}%) | {m['rss_mib']:.0f} | "
                     f"{m['completion_len']:.1f} |")
    return lines


def run_lines(runs: dict) -> list[str]:
    lines = ["| configuration | s / step of each run (median of its steps) |", "| --- | --- |"]
    for name, values in runs.items():
        steps = ", ".join(f"{v['step']:.3f}" for v in values)
        lines.append(f"| {name} | {steps} |")
    return lines


def sweep_table(sweep: list[dict]) -> list[str]:
    lines = ["| G | prompt tokens P (8 prompts, unpadded) | completion tokens 8*G*C | packed tokens P + 8*G*(C-1) | "
             "per-row tokens 8*G*(padded prompt + C) | packed s | per-row s | per-row / packed | "
             "packed ms per 1k packed tokens | per-row ms per 1k per-row tokens |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for s in sweep:
        lines.append(f"| {s['G']} | {s['prompt_tokens']} | {s['completion_tokens']} | {s['packed_tokens']} | "
                     f"{s['per_row_tokens']} | {s['packed_s']:.3f} | {s['per_row_s']:.3f} | "
                     f"{s['per_row_s'] / s['packed_s']:.2f} | {1e6 * s['packed_s'] / s['packed_tokens']:.1f} | "
                     f"{1e6 * s['per_row_s'] / s['per_row_tokens']:.1f} |")
    return lines


def write_report(args, setting: dict, model: dict, runs: dict, summary: dict, reference: str, trl: list[str],
                 sweep: list[dict] | None, load: list[float], machine: str) -> str:
    completions = setting["prompts"] * setting["G"]
    lines = [
        "# Training step on a CPU: gpg_vl GPG vs TRL GRPOTrainer",
        "",
        f"Written by `python bench/train_step_bench.py --runs {args.runs} --steps {args.steps} "
        f"--skip {args.skip} --threads {args.threads} --setting {args.setting}"
        f"{' --no-sweep' if args.no_sweep else ''}` on {time.strftime('%Y-%m-%d %H:%M')}.",
        f"Machine: {machine}; torch threads {args.threads}; 1-minute load average during the runs: "
        f"{', '.join(f'{x:.1f}' for x in load)} (other jobs share this machine).",
        "",
        f"Tiny Qwen2-VL {model}, fp32, random weights. Each optimizer step: {setting['prompts']} prompts x "
        f"G={setting['G']} = {completions} completions, {setting['max_new_tokens']} new tokens, temperature 1, "
        + (f"every image resized up to at least {setting['min_pixels']} pixels (448x448: 256 image tokens), "
           if "min_pixels" in setting else "") +
        "the project's suppressed ids on both sides, reward = the project's `count` rule. "
        f"Median over each run's steps {args.skip + 1}-{args.steps}, then the median over {args.runs} "
        "interleaved runs, each in a fresh process.",
        "",
        "Columns are seconds. generate = producing the token ids (gpg_vl: the engine's `_generate`, "
        "prefill included; TRL: the model's `generate`); forward = the loss forward "
        "(gpg_vl: `time/forward`; TRL: `compute_loss`); backward; optimizer = clipping + AdamW step; "
        "everything else = step minus those four (data, image processing, rewards, advantages, bookkeeping, logging).",
        "",
        *step_table(summary, reference, completions, trl),
        "",
        *run_lines(runs),
    ]
    if sweep:
        lines += ["", "## Forward + backward over G (8 prompts x G x 32 tokens, packed vs per-row)", "",
                  "Time follows the tokens each layout runs: packed ~ P + G x C, per-row ~ G x (P + C) (per prompt).", "",
                  *sweep_table(sweep)]
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    return text
