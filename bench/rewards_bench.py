"""Throughput of the `iou` and `answer_match` rewards on 10,000 realistic completions.

    python bench/rewards_bench.py [--n 10000] [--batch 256] [--json results.json]

Completions are written the way Qwen2-VL / Qwen2.5-VL write them (box tokens, JSON with
bbox_2d, R1-style <think>/<answer>), all distinct, so caches only help where answers
really repeat. `answer_match` is measured on a task mix and per task; its math rows show
the fast paths (plain numbers, identical LaTeX) and the math-verify path separately:
every answer distinct (worst case), and grouped as in GPG (8 completions per prompt,
few distinct answers, so the parse cache helps).
The first math-verify use imports sympy (~0.5 s); it is done before timing.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gpg_vl.data.record import Record  # noqa: E402
from gpg_vl.rewards import RewardContext, get_reward  # noqa: E402
from gpg_vl.rewards.mathequal import _math_verify  # noqa: E402


def _rec(task, answer, choices=None, meta=None):
    return Record(id="b", task=task, images=["i.jpg"], problem="q", answer=answer,
                  choices=choices, meta=meta or {})


def grounding_items(n, rng):
    """(completion, record, original size, input size, family) for boxes near the truth."""
    items = []
    for k in range(n):
        w, h = rng.choice([(640, 480), (427, 640), (1024, 768)])
        x1, y1 = rng.uniform(0, w / 2), rng.uniform(0, h / 2)
        gt = [x1, y1, x1 + rng.uniform(20, w / 2), y1 + rng.uniform(20, h / 2)]
        jitter = [v + rng.uniform(-15, 15) for v in gt]
        if k % 2:  # Qwen2-VL: 0..1000 grid, box tokens
            g = [round(jitter[0] / w * 1000), round(jitter[1] / h * 1000),
                 round(jitter[2] / w * 1000), round(jitter[3] / h * 1000)]
            text = (f"<think>The object is in the {rng.choice(['left', 'right'])} part.</think>"
                    f"<answer><|object_ref_start|>it<|object_ref_end|><|box_start|>({g[0]},{g[1]}),"
                    f"({g[2]},{g[3]})<|box_end|></answer>")
            items.append((text, _rec("grounding", gt), (w, h), (w, h), "qwen2_vl"))
        else:      # Qwen2.5-VL: pixels of the resized input, JSON
            iw, ih = round(w * 0.7 / 28) * 28, round(h * 0.7 / 28) * 28
            p = [round(jitter[0] * iw / w), round(jitter[1] * ih / h),
                 round(jitter[2] * iw / w), round(jitter[3] * ih / h)]
            text = (f"<think>Looking at the image, the target is near ({p[0]}, {p[1]}).</think>\n"
                    f'<answer>```json\n[\n\t{{"bbox_2d": [{p[0]}, {p[1]}, {p[2]}, {p[3]}], '
                    f'"label": "target"}}\n]\n```</answer>')
            items.append((text, _rec("grounding", gt), (w, h), (iw, ih), "qwen2_5_vl"))
    return items


def answer_items(n, rng):
    """{task: [(completion, record)]}, n in all, spread over the answer_match branches."""
    labels = ["pink primrose", "737-200", "abyssinian", "sunflower", "red"]
    out = {"choice": [], "classification": [], "count": [], "math_number": [], "math_latex": [],
           "math_latex_grouped": []}
    for k in range(n):
        kind = list(out)[k % len(out)]
        think = f"<think>Step {k}: reasoning about the figure.</think>"
        if kind == "choice":
            letter = rng.choice("ABCD")
            pred = rng.choice([letter, f"({letter})", f"{letter}. option", rng.choice("ABCD")])
            out[kind].append((f"{think}<answer>{pred}</answer>",
                              _rec("choice", letter, [f"{k}", f"{k + 1}", f"{k + 2}", f"{k + 3}"])))
        elif kind == "classification":
            gold = rng.choice(labels)
            out[kind].append((f"{think}<answer>{rng.choice(labels)}</answer>",
                              _rec("classification", gold)))
        elif kind == "count":
            gold = rng.randint(0, 12)
            out[kind].append((f"{think}<answer>{rng.choice([gold, gold + 1])}</answer>",
                              _rec("count", gold)))
        elif kind == "math_number":
            gold = rng.randint(1, 999)
            out[kind].append((f"{think}<answer>{rng.choice([gold, gold + 1])}°</answer>",
                              _rec("math", f"{gold}°")))
        elif kind == "math_latex":  # LaTeX needing math-verify, every answer distinct
            a, b = rng.randint(2, 30), rng.randint(2, 400) + k
            pred = rng.choice([f"\\sqrt{{{a * a * b}}}", f"{a}\\sqrt{{{b + 1}}}"])
            out[kind].append((f"{think}<answer>${pred}$</answer>", _rec("math", f"{a} \\sqrt {{ {b} }}")))
        else:  # the same, as GPG groups: 8 completions per prompt, 3 distinct answers
            prompt = k // (8 * len(out))
            a, b = 2 + prompt % 29, 2 + prompt
            pred = rng.choice([f"\\sqrt{{{a * a * b}}}", f"{a}\\sqrt{{{b + 1}}}", f"{a + 1}\\sqrt{{{b}}}"])
            out[kind].append((f"{think}<answer>${pred}$</answer>", _rec("math", f"{a} \\sqrt {{ {b} }}")))
    return out


def throughput(fn, completions, records, ctxs, batch):
    """Completions per second, calling the rule on batches as the trainer does."""
    start = time.perf_counter()
    for s in range(0, len(completions), batch):
        fn(completions[s:s + batch], records[s:s + batch], ctxs[s // batch])
    return len(completions) / (time.perf_counter() - start)


def run(n, batch, seed):
    rng = random.Random(seed)
    results = {}
    g = grounding_items(n, rng)
    # the two model families alternate, so batch by family with per-item sizes
    fam_items = {f: [x for x in g if x[4] == f] for f in ("qwen2_vl", "qwen2_5_vl")}
    iou = get_reward("iou")
    start = time.perf_counter()
    for family, items in fam_items.items():
        for s in range(0, len(items), batch):
            chunk = items[s:s + batch]
            ctx = RewardContext([[x[2]] for x in chunk], [[x[3]] for x in chunk], family)
            iou([x[0] for x in chunk], [x[1] for x in chunk], ctx)
    results["iou"] = len(g) / (time.perf_counter() - start)

    _math_verify()
    match = get_reward("answer_match")
    by_task = answer_items(n, rng)
    every = [x for items in by_task.values() for x in items]
    rng.shuffle(every)
    ctxs = [RewardContext()] * (len(every) // batch + 1)
    for task, items in by_task.items():
        results[f"answer_match[{task}]"] = throughput(match, [x[0] for x in items],
                                                      [x[1] for x in items], ctxs, batch)
    # the mix last, with caches now warm for the items above: report it both ways
    from gpg_vl.rewards.mathequal import _parsed, _symbolic_equal_cached
    _parsed.cache_clear()
    _symbolic_equal_cached.cache_clear()
    results["answer_match[mix]"] = throughput(match, [x[0] for x in every], [x[1] for x in every],
                                              ctxs, batch)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = run(args.n, args.batch, args.seed)
    print(f"iou and answer_match[mix]: {args.n} completions each; answer_match[task]: "
          f"{args.n // 6} each; batches of {args.batch}; "
          f"python {platform.python_version()} on {platform.machine()}")
    for name, per_s in results.items():
        print(f"  {name:34s} {per_s:12,.0f} completions/s")
    if args.json:
        args.json.write_text(json.dumps({"n": args.n, "batch": args.batch, "per_second": results},
                                        indent=2) + "\n")


if __name__ == "__main__":
    main()
