"""`python -m gpg_vl.data check FILE [--preset NAME | --model PATH] [key=value ...]`.

Everything training would check before model work, on the whole file at once instead of
stopping at the first fault: the schema, each answer against its task and the preset's
reward rules, every image opened and decoded, and (given a preset or a model) every
prompt's token count under the model's own processor and chat template. It ends in a
summary table: records, tasks, image sizes, prompt lengths, problems and warnings by kind,
and the first problems with file:line, id and field. Exit status 0 when clean, 1 when a
record has a problem, 2 when the file or the options cannot be used at all.

    python -m gpg_vl.data check /data/refcoco/train.jsonl --preset refcoco_grounding
    python -m gpg_vl.data check train.jsonl --model /ckpt/Qwen2.5-VL-3B-Instruct data.template=r1
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .loading import iter_checked
from .tasks import TaskChecks, task_checks

SHOW_PER_KIND = 5


@dataclass
class Report:
    """What a check found; `table()` is the printed summary."""

    path: str
    setup: str = ""
    read: int = 0
    usable: int = 0
    tasks: Counter = field(default_factory=Counter)
    widths: list = field(default_factory=list)
    heights: list = field(default_factory=list)
    images: int = 0
    prompt_lengths: list = field(default_factory=list)
    max_prompt_length: int = 0
    tokens_note: str = "not counted (give --preset or --model)"
    problems: Counter = field(default_factory=Counter)
    warnings: Counter = field(default_factory=Counter)
    messages: list = field(default_factory=list)

    def note(self, kind: str, message: str, problem: bool = True) -> None:
        counts = self.problems if problem else self.warnings
        counts[kind] += 1
        if counts[kind] <= SHOW_PER_KIND:
            self.messages.append(f"{'problem' if problem else 'warning'} [{kind}] {message}")

    def table(self) -> str:
        rows = [("records", f"{self.read} read, {self.usable} usable, {self.read - self.usable} bad"),
                ("tasks", _counts(self.tasks)),
                ("images", f"{self.images}" + (f"; width {_spread(self.widths)}, height {_spread(self.heights)}"
                                               if self.widths else ""))]
        if self.prompt_lengths:
            over = sum(n > self.max_prompt_length for n in self.prompt_lengths)
            rows.append(("prompt tokens", f"{_spread(self.prompt_lengths)}; over max_prompt_length="
                         f"{self.max_prompt_length}: {over}"))
        else:
            rows.append(("prompt tokens", self.tokens_note))
        rows += [("problems", _counts(self.problems) or "none"), ("warnings", _counts(self.warnings) or "none")]
        lines = [f"gpg_vl data check: {self.path}"] + ([f"  {self.setup}"] if self.setup else [])
        lines += [f"  {name:<14} {value}" for name, value in rows]
        return "\n".join(lines + [f"  {m}" for m in self.messages])

    @property
    def clean(self) -> bool:
        return not self.problems


def _counts(counter: Counter) -> str:
    return ", ".join(f"{k}: {n}" for k, n in counter.most_common())


def _spread(values: list) -> str:
    return f"{min(values)}-{max(values)} (median {statistics.median(values):g})"


def check_file(path: str | Path, image_root: str | None = None, checks: TaskChecks = TaskChecks(),
               collator=None, split: str = "train") -> Report:
    """Run every check on every item of `path`; `collator` (a PromptCollator) adds prompt lengths."""
    report = Report(str(path))
    if collator is not None:
        report.max_prompt_length = collator.max_prompt_length
    for item in iter_checked(path, image_root, split, checks, decode=True):
        report.read += 1
        for kind, message in item.warnings:
            report.note(kind, message, problem=False)
        if item.error is not None:
            report.note(item.error.kind, str(item.error))
            continue
        record = item.record
        sizes = [tuple(s) for s in record.meta["original_sizes"]]
        report.tasks[record.task] += 1
        report.images += len(sizes)
        report.widths += [w for w, _ in sizes]
        report.heights += [h for _, h in sizes]
        if collator is not None:
            n = collator.prompt_length(record, sizes)
            report.prompt_lengths.append(n)
            if n > collator.max_prompt_length:
                report.note("prompt too long", f"{record.where} (id={record.id}): field 'problem': prompt has {n} "
                            f"tokens > rollout.max_prompt_length={collator.max_prompt_length} (image tokens "
                            "included); shorten it, lower vision.max_pixels or raise the limit")
                continue
        report.usable += 1
    return report


def _collator(cfg):
    from ..families import family_at
    from ..models import check_model_source, load_processor
    from .collator import PromptCollator

    check_model_source(cfg.model.path, can_build=bool(cfg.model.build_tiny))
    processor = load_processor(cfg.model, cfg.vision)
    return PromptCollator(processor, family_at(cfg.model.path), cfg.vision.min_pixels, cfg.vision.max_pixels,
                          cfg.data.template, cfg.rollout.max_prompt_length)


def main(argv: list[str] | None = None) -> int:
    from ..config import ConfigError, load_config

    parser = argparse.ArgumentParser(prog="python -m gpg_vl.data", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="check a data file as training would, and summarise it")
    check.add_argument("file", type=Path, help="JSONL, parquet, or a datasets folder")
    check.add_argument("--preset", help="take rewards, template, vision and the model from this preset")
    check.add_argument("--model", help="count prompt tokens with this checkpoint's processor")
    check.add_argument("--split", default="train", help="split of a datasets folder (default: train)")
    check.add_argument("overrides", nargs="*", help="key=value config overrides, e.g. data.clip_boxes=true")
    args = parser.parse_args(argv)
    cfg = load_config(args.preset, args.overrides)
    if args.model:
        cfg.model.path, cfg.model.build_tiny = args.model, ""
    checks = task_checks(cfg) if args.preset else TaskChecks(cfg.data.box_tolerance, cfg.data.clip_boxes)
    rewards = checks.rewards if not checks.by_task else tuple(f"{t}: {'+'.join(r)}" for t, r in checks.by_task)
    collator, note = None, None
    if args.model:
        collator = _collator(cfg)  # the model asked for must load: exit 2 naming it otherwise
    elif args.preset:
        try:
            collator = _collator(cfg)
        except ConfigError as err:  # the preset's hub model is unreachable here: check the data anyway
            note = f"not counted: {err}; give --model PATH"
    report = check_file(args.file, cfg.data.image_root or None, checks, collator, args.split)
    report.tokens_note = note or report.tokens_note
    parts = [f"preset {args.preset}" if args.preset else "", f"rewards {', '.join(rewards)}" if rewards else "",
             f"model {cfg.model.path} (template {cfg.data.template})" if collator else ""]
    report.setup = "; ".join(p for p in parts if p)
    print(report.table())
    return 0 if report.clean else 1


if __name__ == "__main__":
    sys.exit(main())
