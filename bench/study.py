"""The evidence study: does GPG improve grounding, classification and visual math, and how
does it compare with GRPO and Dr. GRPO at equal rollouts? (docs/experiments.md)

    python bench/study.py                              # everything (sizes below), ~35 min here
    python bench/study.py --cell classification/gpg/0  # one cell, from a fresh clone too
    python bench/study.py --report                     # tables and curves from finished cells
    python bench/study.py --out runs/lr6 --set optim.lr=6e-4 --tasks grounding  # a setting, apart

For each task family (data_prep.synthetic's grounding, classification and counting, held
out by split) it builds the task's tiny model (Task.family, STUDY_SIZES), warm-starts it once with
`python -m gpg_vl.sft --preset study_<task>`, then trains from that checkpoint with
`python -m gpg_vl.train --preset study_<task>`: GPG, GRPO and Dr. GRPO (each with its own
paper's defaults, gpg_vl.algos) for 3 seeds, every run stopping at the same number of
rolled-out groups (optim.max_rollouts; GPG's resampling spends its budget sooner, in fewer
optimizer steps). On classification it also runs the GPG paper's ablations (alpha off;
beta_th 0 and 0.6 beside the default 0.4; F_norm std) and one remedy for collapse
(REMEDY, off by default everywhere else). Each run's held-out greedy probe (gpg_vl.probe:
300 fresh records, the image-blind ceiling, the derangement shuffled-image control) runs
before, every `probe_every` steps and after training.

Every process runs with one thread (OMP_NUM_THREADS=1), two cells at a time (--workers):
a cell's numbers depend only on its seed, so a re-run of one cell gives the same figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDY_SIZES = dict(hidden=128, layers=4, heads=4, vision_width=64, vision_depth=2)
SEEDS = (0, 1, 2)
HELDOUT = 300


@dataclass(frozen=True)
class Task:
    preset: str
    family: str  # the tiny model's (gpg_vl.families)
    rule: str  # the task rule whose held-out mean is "the task reward"
    rollouts: int  # groups rolled out per run (= GRPO's steps x prompts_per_step)
    probe_every: int


TASKS = {
    "grounding": Task("study_grounding", "smolvlm", "iou", rollouts=8 * 200, probe_every=25),
    "classification": Task("study_classification", "smolvlm", "answer_match", rollouts=8 * 200, probe_every=25),
    "counting": Task("study_counting", "smolvlm", "answer_match", rollouts=8 * 200, probe_every=25),
}
ARMS = {"gpg": [], "grpo": ["algo.loss=grpo"], "dr_grpo": ["algo.loss=dr_grpo"]}
ABLATION_TASK = "classification"
ABLATIONS = {"gpg_alpha_off": ["algo.alpha_correction=false"], "gpg_beta0": ["algo.beta_th=0"],
             "gpg_beta0_6": ["algo.beta_th=0.6"], "gpg_fnorm_std": ["algo.adv_norm=std"]}
REMEDY = {"gpg_temp1_5": ["rollout.temperature=1.5"]}
"""The collapse remedy tried: sample rollouts at temperature 1.5 (the training log-probs use the
same temperature), so a label whose probability has fallen is still drawn and still sends signal."""


def cells(tasks: list[str]) -> list[tuple[str, str]]:
    out = []
    for t in tasks:
        out += [(t, arm) for arm in ARMS]
        if t == ABLATION_TASK:
            out += [(t, arm) for arm in {**ABLATIONS, **REMEDY}]
    return out


def overrides(task: str, arm: str) -> list[str]:
    return {**ARMS, **ABLATIONS, **REMEDY}[arm]


def env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT),
            "TOKENIZERS_PARALLELISM": "false"}


def run_logged(cmd: list[str], log: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as fh:
        done = subprocess.run(cmd, cwd=ROOT, env=env(), stdout=fh, stderr=subprocess.STDOUT)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}); see {log}")


def tiny_model(out: Path, family: str) -> Path:
    path = out / f"tiny-{family}"
    code = (f"from gpg_vl.tiny import build_tiny_model; "
            f"build_tiny_model({str(path)!r}, {family!r}, **{STUDY_SIZES!r})")
    run_logged([sys.executable, "-c", code], out / "logs" / f"tiny-{family}.log")
    return path


def warm_start(out: Path, task: str) -> Path:
    """The task's SFT checkpoint (built once; its data too)."""
    t, sft = TASKS[task], out / task / "sft"
    if (sft / "gpg_vl_sft.json").exists():
        return sft
    model = tiny_model(out, t.family)
    run_logged([sys.executable, "-m", "gpg_vl.sft", "--preset", t.preset, f"model.path={model}",
                f"data.train={out / task / 'data' / 'train.jsonl'}", f"sft.out_dir={sft}", f"log.out_dir={out / task / 'sft_run'}"], out / "logs" / f"{task}-sft.log")
    return sft


def heldout(out: Path, task: str) -> Path:
    """The task's held-out records, one set for every cell (split "heldout": other images)."""
    path = out / task / "data" / "heldout.jsonl"
    if not path.exists():
        run_logged([sys.executable, "-m", "data_prep.synthetic", "--task", task, "--n", str(HELDOUT),
                    "--out", str(path.parent), "--split", "heldout"], out / "logs" / f"{task}-heldout.log")
    return path


def run_cell(out: Path, task: str, arm: str, seed: int, extra: tuple[str, ...] = ()) -> dict | None:
    """Train one (task, arm, seed) from the warm start; returns its summary (cached in
    result.json). A finished run without one is summarised, not re-run; None for a cell
    another study process is running (its claim folder exists). `extra`: overrides for every
    cell (--set), after the arm's own."""
    folder = out / task / f"{arm}-s{seed}"
    result = folder / "result.json"
    if result.exists():
        return json.loads(result.read_text())
    if (folder / "summary.json").exists():
        return summarise(folder, task, arm, seed, wall_s=None)
    claim = folder.parent / f"{folder.name}.claim"
    try:
        claim.mkdir(parents=True)
    except FileExistsError:
        return None
    t = TASKS[task]
    try:
        sft, probe_data = warm_start(out, task), heldout(out, task)
        t0 = time.time()
        run_logged([sys.executable, "-m", "gpg_vl.train", "--preset", t.preset, f"model.path={sft}",
                    f"data.train={out / task / 'data' / 'train.jsonl'}", f"seed={seed}", f"log.out_dir={folder}",
                    f"optim.max_rollouts={t.rollouts}", f"optim.steps={t.rollouts}", f"probe.every={t.probe_every}",
                    f"probe.data={probe_data}", f"probe.size={HELDOUT}",
                    "log.progress=false", "log.tensorboard=false", "log.report_to=[]", "log.plot=false",
                    *overrides(task, arm), *extra], folder.parent / f"{folder.name}.log")
    except BaseException:  # a failed or interrupted run gives its cell back
        claim.rmdir()
        raise
    return summarise(folder, task, arm, seed, round(time.time() - t0, 1))


def summarise(folder: Path, task: str, arm: str, seed: int, wall_s: float | None) -> dict:
    """result.json of a finished run folder: probes before and after, the curve, entropy, AUC."""
    t = TASKS[task]
    summary = json.loads((folder / "summary.json").read_text())
    rows = [json.loads(line) for line in (folder / "metrics.jsonl").open()]
    entry = {"task": task, "arm": arm, "seed": seed, "wall_s": wall_s,
             "steps": max(r["step"] for r in rows), "before": summary["probe_before"],
             "after": summary["probe_after"], "curve": curve(rows, t.rule),
             "entropy": [[r["step"], r["rollout/entropy"]] for r in rows if "rollout/entropy" in r]}
    entry["auc"] = auc(entry["curve"], t.rollouts)
    (folder / "result.json").write_text(json.dumps(entry, indent=1))
    return entry


def curve(rows: list[dict], rule: str) -> list[list[float]]:
    """[groups rolled out, held-out task reward] at every probe (step 0: the warm start)."""
    sampled, out = 0, []
    for r in sorted(rows, key=lambda r: r["step"]):
        sampled = r.get("rollout/groups_sampled", sampled)
        if f"probe/reward/{rule}" in r:
            out.append([sampled, r[f"probe/reward/{rule}"]])
    return out


def auc(points: list[list[float]], budget: int) -> float:
    """Mean held-out task reward over the rollout budget (trapezoids; flat after the last probe)."""
    if not points:
        return float("nan")
    pts = points + ([[budget, points[-1][1]]] if points[-1][0] < budget else [])
    area = sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in zip(pts, pts[1:]))
    return area / budget


# --- the report -----------------------------------------------------------------------

def mean_std(values: list[float], digits: int = 3) -> str:
    """mean ± sample std; the mean alone for one value."""
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "-"
    m = sum(values) / len(values)
    if len(values) == 1:
        return f"{m:.{digits}f}"
    s = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def minutes(entries: list[dict]) -> str:
    walls = [e["wall_s"] for e in entries if e["wall_s"] is not None]
    return f"{sum(walls) / len(walls) / 60:.1f}" if walls else "-"


def table(entries: list[dict], arms: list[str]) -> list[str]:
    lines = ["| task | arm | seeds | warm start | after | gain | AUC | shuffled after | blind ceiling | steps | min/run |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for task, t in TASKS.items():
        for arm in arms:
            es = [e for e in entries if e["task"] == task and e["arm"] == arm]
            if not es:
                continue
            key = f"reward/{t.rule}"
            before = [e["before"][key] for e in es]
            after = [e["after"][key] for e in es]
            lines.append(
                f"| {task} ({t.rule}) | {arm} | {len(es)} | {mean_std(before)} | {mean_std(after)} | "
                f"{mean_std([a - b for a, b in zip(after, before)])} | {mean_std([e['auc'] for e in es])} | "
                f"{mean_std([e['after'][f'shuffled/{key}'] for e in es])} | "
                f"{mean_std([e['after'][f'blind/{key}'] for e in es])} | "
                f"{mean_std([float(e['steps']) for e in es], 0)} | {minutes(es)} |")
    return lines


LABEL_TASKS = ("classification", "counting")  # tasks whose probes report per-label figures


def labels_table(entries: list[dict], arms: list[str], task: str) -> list[str]:
    """Per-label accuracy and predicted shares, warm start and after training (mean over seeds)."""
    es = [e for e in entries if e["task"] == task]
    if not es:
        return []
    labels = sorted(k.split("/", 1)[1] for k in es[0]["after"] if k.startswith("accuracy/"))
    lines = ["| arm | " + " | ".join(f"acc {lb}" for lb in labels) + " | " +
             " | ".join(f"pred {lb}" for lb in [*labels, "other"]) + " |",
             "|---" * (2 * len(labels) + 2) + "|"]
    for arm, when in [("warm start", "before"), *((a, "after") for a in arms)]:
        rows = es[:1] if when == "before" else [e for e in es if e["arm"] == arm]
        if not rows:
            continue
        acc = [sum(e[when][f"accuracy/{lb}"] for e in rows) / len(rows) for lb in labels]
        pred = [sum(e[when][f"predicted/{lb}"] for e in rows) / len(rows) for lb in [*labels, "other"]]
        lines.append(f"| {arm} | " + " | ".join(f"{v:.2f}" for v in acc) + " | " +
                     " | ".join(f"{v:.2f}" for v in pred) + " |")
    return lines


def at(points: list[list[float]], x: float) -> float:
    """A curve's value at x (linear between probes, flat after the last)."""
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x0 <= x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0) if x1 > x0 else y1
    return points[-1][1] if x > points[-1][0] else points[0][1]


def plot(entries: list[dict], arm_sets: dict[str, list[str]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(task, name, arms) for name, arms in arm_sets.items() for task in TASKS
              if any(e["task"] == task and e["arm"] in arms for e in entries)]
    if not panels:  # e.g. --tasks grounding: no ablation cells
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.8), squeeze=False)
    for ax, (task, name, arms) in zip(axes[0], panels):
        budget = TASKS[task].rollouts
        xs = [budget * i / 40 for i in range(41)]
        for arm in arms:
            es = [e for e in entries if e["task"] == task and e["arm"] == arm]
            if not es:
                continue
            grid = [[at(e["curve"], x) for x in xs] for e in es]
            mean = [sum(col) / len(col) for col in zip(*grid)]
            line, = ax.plot(xs, mean, label=f"{arm} (n={len(grid)})")
            ax.fill_between(xs, [min(c) for c in zip(*grid)], [max(c) for c in zip(*grid)], alpha=0.15,
                            color=line.get_color())
        blind = [e["before"][f"blind/reward/{TASKS[task].rule}"] for e in entries if e["task"] == task]
        if blind:
            ax.axhline(blind[0], color="gray", ls="--", lw=1, label="image-blind ceiling")
        ax.set_title(f"{task}: {name}")
        ax.set_xlabel("groups rolled out")
        ax.set_ylabel(f"held-out greedy {TASKS[task].rule}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(out: Path) -> str:
    entries = [json.loads(p.read_text()) for p in sorted(out.glob("*/*/result.json"))]
    main_arms, extra = list(ARMS), ["gpg", *ABLATIONS, *REMEDY]
    text = ["## GPG vs GRPO vs Dr. GRPO (mean ± std over seeds; held-out greedy task reward)", "",
            *table(entries, main_arms), "", f"## Ablations and the collapse remedy ({ABLATION_TASK})", "",
            *table([e for e in entries if e["task"] == ABLATION_TASK], extra), "",
            *(line for task in LABEL_TASKS for line in
              (f"## {task.capitalize()}: per-label accuracy and predicted shares, warm start and after training "
               "(mean over seeds)", "", *labels_table(entries, extra if task == ABLATION_TASK else main_arms, task), ""))]
    plot(entries, {"GPG vs GRPO vs Dr. GRPO": main_arms}, out / "curves.png")
    plot([e for e in entries if e["task"] == ABLATION_TASK], {"ablations": extra}, out / "ablations.png")
    (out / "report.md").write_text("\n".join(text))
    return "\n".join(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/study")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cell", help="one cell, TASK/ARM/SEED (e.g. classification/gpg/0)")
    parser.add_argument("--report", action="store_true", help="only write the report from finished cells")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="an override for every training cell (e.g. optim.lr=3e-4); use its own --out")
    args = parser.parse_args(argv)
    out = (ROOT / args.out).resolve() if not Path(args.out).is_absolute() else Path(args.out)
    if args.cell:
        task, arm, seed = args.cell.split("/")
        entry = run_cell(out, task, arm, int(seed), tuple(args.set))
        print(json.dumps({k: entry[k] for k in ("task", "arm", "seed", "steps", "auc", "wall_s")} |
                         {"before": entry["before"], "after": entry["after"]}, indent=1))
        return 0
    if not args.report:
        tasks = args.tasks.split(",")
        seeds = [int(s) for s in args.seeds.split(",")]
        t0 = time.time()
        for family in sorted({TASKS[task].family for task in tasks}):
            tiny_model(out, family)
        with ThreadPoolExecutor(max(1, args.workers)) as pool:  # warm starts and held-out sets first
            list(pool.map(lambda task: (warm_start(out, task), heldout(out, task)), tasks))
        jobs = [(task, arm, seed) for task, arm in cells(tasks) for seed in seeds]
        with ThreadPoolExecutor(max(1, args.workers)) as pool:
            for job, entry in zip(jobs, pool.map(lambda j: run_cell(out, *j, tuple(args.set)), jobs)):
                done = "running in another study process" if entry is None else f"auc {entry['auc']:.3f}"
                print(f"{'/'.join(map(str, job))}: {done}", flush=True)
        print(f"study: {len(jobs)} cells in {(time.time() - t0) / 60:.1f} min")
    print(report(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
