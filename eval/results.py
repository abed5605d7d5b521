"""results.json (every checkpoint x benchmark, merged across runs) and its Markdown table.

    {"<checkpoint tag>": {"model": "<path or hub id>",
                          "benchmarks": {"refcoco_val": {"n": 2000, "headline": "accuracy",
                                                         "metrics": {"accuracy": 81.4, "miou": 70.2},
                                                         "samples": "samples/<tag>/refcoco_val.jsonl",
                                                         "settings": {...}, "throughput": {...}}}}}

Runs for other checkpoints or benchmarks add to the file instead of replacing it, so the
table grows into benchmarks x checkpoints. The table is a pure function of the metrics
and counts (no timings), so a resumed evaluation gives the same table as a fresh one.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path


def checkpoint_tag(path: str) -> str:
    """A stable, file-safe name for a checkpoint: 'runs/refcoco/checkpoint-400' ->
    'refcoco_checkpoint-400' (the last two path parts)."""
    parts = [p for p in re.split(r"[\\/]+", path.strip()) if p not in ("", ".", "..")]
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "_".join(parts[-2:]) or "model")


def write_json(path: Path, data: dict) -> None:
    """Write through a temporary file, so a crash never leaves half a results file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False))
    os.replace(tmp, path)


def update_results(out: Path, tag: str, model: str, benchmark: str, entry: dict) -> dict:
    """Merge one checkpoint x benchmark entry into OUT/results.json; the whole file back."""
    path = out / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    slot = results.setdefault(tag, {"model": model, "benchmarks": {}})
    slot["model"] = model
    slot["benchmarks"][benchmark] = entry
    write_json(path, results)
    return results


TABLE_BREAKDOWN = 12
"""A breakdown (metrics `name/<label>`) of more labels than this stays in results.json, out
of the table: 102 flowers' accuracy/<class> and predicted/<label> would bury it."""


def table_metrics(metrics: list[str]) -> list[str]:
    """The metrics the table lists: every plain one, and breakdowns of at most TABLE_BREAKDOWN labels."""
    size = Counter(m.split("/")[0] for m in metrics if "/" in m)
    return [m for m in metrics if "/" not in m or size[m.split("/")[0]] <= TABLE_BREAKDOWN]


def _cell(entry: dict | None, metric: str) -> str:
    if entry is None or metric not in entry["metrics"]:
        return "-"
    return f"{entry['metrics'][metric]:.2f} (n={entry['n']})"


def markdown_table(results: dict) -> str:
    """Headline metric per benchmark x checkpoint, then every metric (but long breakdowns,
    see TABLE_BREAKDOWN), each cell 'value (n=count)'."""
    tags = list(results)
    benchmarks: list[str] = []
    for tag in tags:
        benchmarks += [b for b in results[tag]["benchmarks"] if b not in benchmarks]

    def entry(tag: str, bench: str) -> dict | None:
        return results[tag]["benchmarks"].get(bench)

    def header(first: str) -> list[str]:
        return [f"| {first} | metric | " + " | ".join(tags) + " |",
                "| --- | --- | " + " | ".join("---" for _ in tags) + " |"]

    lines = ["# Evaluation results", "", "Values in percent; n = items evaluated.", ""]
    lines += header("benchmark")
    for bench in benchmarks:
        headline = next(entry(t, bench)["headline"] for t in tags if entry(t, bench))
        lines.append(f"| {bench} | {headline} | " + " | ".join(_cell(entry(t, bench), headline) for t in tags) + " |")
    lines += ["", "## All metrics", ""] + header("benchmark")
    for bench in benchmarks:
        metrics: list[str] = []
        for t in tags:
            if entry(t, bench):
                metrics += [m for m in entry(t, bench)["metrics"] if m not in metrics]
        for metric in table_metrics(metrics):
            lines.append(f"| {bench} | {metric} | " + " | ".join(_cell(entry(t, bench), metric) for t in tags) + " |")
    lines += ["", "Checkpoints: " + "; ".join(f"`{t}` = {results[t]['model']}" for t in tags), ""]
    return "\n".join(lines)


def write_table(out: Path, results: dict) -> Path:
    path = out / "results.md"
    path.write_text(markdown_table(results))
    return path
