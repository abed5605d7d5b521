"""The realistic-shape benchmark's results file: the layout grid, attention alone, log-prob memory, projection."""

from __future__ import annotations

import os
import time
from pathlib import Path

from flop_model import projection

LAYOUTS = ("per-row", "dense mask", "shared prefix")


def fmt(cell: dict, layout: str, key: str, form: str) -> str:
    return format(cell[layout][key], form) if layout in cell else "-"


def grid_table(grid: list[dict]) -> list[str]:
    lines = ["| P (incl. image) | C | G | per-row s | dense mask s | shared prefix s | dense / shared | "
             "per-row / shared | per-row MiB | dense mask MiB | shared prefix MiB |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for c in grid:
        sp = c["shared prefix"]["s"]
        row = f"{c['per-row']['s'] / sp:.2f}" if "per-row" in c else "-"
        lines.append(f"| {c['P']} | {c['C']} | {c['G']} | {fmt(c, 'per-row', 's', '.2f')} | "
                     f"{fmt(c, 'dense mask', 's', '.2f')} | {sp:.2f} | {c['dense mask']['s'] / sp:.2f} | {row} | "
                     f"{fmt(c, 'per-row', 'mib', '.0f')} | {fmt(c, 'dense mask', 'mib', '.0f')} | "
                     f"{fmt(c, 'shared prefix', 'mib', '.0f')} |")
    return lines


def memory_table(memory: list[dict]) -> list[str]:
    lines = ["| scored tokens M | today: all [M, V] at once, peak MiB | s | chunked (auto chunk), peak MiB | s | "
             "chunked / today memory |", "| --- | --- | --- | --- | --- | --- |"]
    by_m: dict[int, dict] = {}
    for m in memory:
        by_m.setdefault(m["M"], {})["today" if m["chunk"] == 0 else "chunked"] = m
    for M, d in by_m.items():
        t, c = d["today"], d["chunked"]
        lines.append(f"| {M} | {t['mib']:.0f} | {t['s']:.2f} | {c['mib']:.0f} | {c['s']:.2f} | "
                     f"{c['mib'] / t['mib']:.3f} |")
    return lines


def write_report(args, model: dict, vocab: int, grid: list[dict], attention: dict, memory: list[dict],
                 skip: set, seconds: float) -> str:
    key = [c for c in grid if len(c["shared prefix"]["all_s"]) > 1]
    lines = [
        "# The training forward at realistic shapes, on a CPU",
        "",
        f"Written by `python bench/realistic_shapes.py --threads {args.threads} --key-reps {args.key_reps}"
        f"{' --all-cells' if args.all_cells else ''}` on {time.strftime('%Y-%m-%d %H:%M')} "
        f"in {seconds / 60:.1f} min; 1-minute load average at the end {os.getloadavg()[0]:.1f} "
        "(the machine's 2 cores are shared with other jobs: compare columns of one row, measured side by side).",
        "",
        f"Tiny Qwen2-VL architecture {model}, the real vocabulary {vocab:,} (random weights, tied lm_head), fp32; "
        "one prompt per micro-batch; forward + backward of the mean token log-prob; every layout scores its "
        "log-probs in lm_head chunks, so the columns differ in attention and in how often the prompt and its "
        "image run. MiB = peak RSS during the call minus RSS before it (1 ms sampling).",
        "",
        *grid_table(grid),
        "",
    ]
    if key:
        lines += [f"Key cell P={key[0]['P']}, C={key[0]['C']}, G={key[0]['G']}: each layout's runs (s): " + "; ".join(
            f"{n} {key[0][n]['all_s']}" for n in LAYOUTS if n in key[0]) + ".", ""]
    if skip:
        cells = sorted({(P, C, G) for P, C, G, _ in skip})
        lines += ["Left out: " + ", ".join(f"P={P}, C={C}, G={G}" for P, C, G in cells) +
                  " (the real vocabulary's lm_head costs 10-30 ms per scored token on these 2 shared cores, the same in "
                  "every layout; G=4 and G=16 are measured at C=128).", ""]
    lines += [
        "## One attention call alone (fwd + bwd, [1, 4 heads, L, 64], fp32)", "",
        f"P={attention['P']}, C={attention['C']}, G={attention['G']}, L={attention['L']}: dense-mask SDPA "
        f"{attention['dense mask']:.3f} s, shared prefix (two SDPA calls) {attention['shared prefix']:.3f} s: "
        f"{attention['dense mask'] / attention['shared prefix']:.2f}x.", "",
        f"## The log-prob step alone (hidden [M, 256] -> lm_head V={vocab:,} -> log-softmax -> backward, fp32)", "",
        "Each figure from a fresh process. Today = the model's head over all scored tokens at once (what "
        "`logits_to_keep` gave, then gather - logsumexp: the code before this change); chunked = `gpg_vl.logprobs.chunked_logprobs`, 441-token chunks recomputed in backward.",
        "",
        *memory_table(memory),
        "",
        "## Projection to real models (bench/flop_model.py)", "",
        "Upper bounds at 100% of the H200's bf16 peak; FLOPs only (the dense mask also costs kernel choice: "
        "SDPA falls back from flash to the memory-efficient kernel, and FlashAttention-2 refuses it).", "",
        *projection(),
    ]
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    return text
