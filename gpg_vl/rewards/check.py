"""`python -m gpg_vl.rewards check`: score example completions before training.

    python -m gpg_vl.rewards check --reward iou,format --input samples.jsonl [--out scores.jsonl]
    python -m gpg_vl.rewards check --reward answer_match --arg answer_match.extract=first_word ...
    python -m gpg_vl.rewards list

Each input line is one JSON object, e.g.

    {"completion": "<answer>8\\sqrt{3}</answer>", "record": {"id": "q1", "task": "math", "problem": "Find AB.", "answer": "8√{3}"}}

with the keys

    "completion"    the model's text (required)
    "record"        a record: id, task, problem, answer (required); choices, meta, images
                    (optional: only rules that use image sizes need an image or
                    meta.image_size, e.g. iou with model_family qwen2_5_vl)
    "model_family"  optional, default "generic"
    "input_size"    optional [w, h]: the size the model saw

The original image size comes from record.meta["image_size"], else from the first image
file (relative paths are taken from the input file's folder), else is unknown. Output:
one JSON line per input, `{"line": n, "id": ..., "scores": {rule: score}}`, plus
`"errors": {rule: n}` when a rule failed on that line. A bad input line stops the run
with a message naming the file and line (exit status 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Iterator, TextIO

import yaml

from gpg_vl.data.record import RecordError, record_from_dict

from .context import RewardContext
from .registry import RewardLookupError, list_rewards
from .stack import RewardStack


class CheckInputError(ValueError):
    """A malformed input line; the message starts with 'file:line:' and ends with the
    keys a line may have."""


EXPECTED = ('expected one JSON object per line: {"completion": str, "record": {"id", "task", '
            '"problem", "answer", optional "choices", "meta", "images"}, optional "model_family", '
            '"input_size": [w, h]}')
_NO_IMAGE = "<no image>"
"""Stands in for `images` while the record is validated; removed again afterwards."""


def _record(obj: Any, where: str) -> Any:
    """A Record from the line's "record"; `images` may be left out (text rules need none)."""
    if isinstance(obj, dict) and not obj.get("images"):
        record = record_from_dict({**obj, "images": [_NO_IMAGE]}, where)
        record.images = []
        return record
    return record_from_dict(obj, where)


def _image_size(record: Any, root: Path) -> tuple[int, int] | None:
    image = record.images[0] if record.images else None
    if not isinstance(image, str):
        return None
    path = Path(image) if Path(image).is_absolute() else root / image
    if not path.is_file():
        return None
    from PIL import Image  # only here: most checks never open an image

    with Image.open(path) as im:
        return im.size


def _size(value: Any, where: str, key: str) -> tuple[float, float] | None:
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, (int, float)) and v > 0 for v in value)):
        raise CheckInputError(f"{where}: {key!r} must be [width, height] with positive numbers")
    return (value[0], value[1])


def _example(obj: Any, where: str, root: Path) -> tuple[str, Any, RewardContext]:
    """(completion, record, context) from one parsed line."""
    if not isinstance(obj, dict):
        raise CheckInputError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - {"completion", "record", "model_family", "input_size"})
    if unknown:
        raise CheckInputError(f"{where}: unknown key(s) {', '.join(unknown)}")
    if not isinstance(obj.get("completion"), str):
        raise CheckInputError(f"{where}: 'completion' must be a string")
    if "record" not in obj:
        raise CheckInputError(f"{where}: missing 'record'")
    try:
        record = _record(obj["record"], where)
        original = None if record.meta.get("image_size") else _image_size(record, root)
        input_size = _size(obj.get("input_size"), where, "input_size")
        ctx = RewardContext(original_sizes=[[original] if original else []],
                            input_sizes=[[input_size] if input_size else []],
                            model_family=str(obj.get("model_family", "generic")))
    except (RecordError, ValueError, OSError) as exc:
        message = str(exc)
        raise CheckInputError(message if message.startswith(where) else f"{where}: {message}") from exc
    return obj["completion"], record, ctx


def read_examples(path: Path) -> Iterator[tuple[int, str, Any, RewardContext]]:
    """(line number, completion, record, context) per non-blank line of a JSONL file."""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                obj = json.loads(line)
                example = _example(obj, where, path.parent)
            except json.JSONDecodeError as exc:
                raise CheckInputError(f"{where}: invalid JSON: {exc}; {EXPECTED}") from exc
            except CheckInputError as exc:
                raise CheckInputError(f"{exc}; {EXPECTED}") from exc
            yield (lineno, *example)


def parse_args_option(items: list[str]) -> dict[str, dict[str, Any]]:
    """['iou_hit.threshold=0.75'] -> {'iou_hit': {'threshold': 0.75}} (values read as YAML)."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, eq, value = item.partition("=")
        name, dot, option = key.rpartition(".")
        if not (eq and dot and name and option):
            raise CheckInputError(f"--arg {item!r}: expected RULE.OPTION=VALUE")
        out.setdefault(name, {})[option] = yaml.safe_load(value)
    return out


def run_check(names: list[str], input_path: Path, out: TextIO,
              args: dict[str, dict[str, Any]] | None = None) -> int:
    """Score every line of `input_path` with every rule; returns the number of lines."""
    stack = RewardStack.from_config({name: 1.0 for name in names}, args)
    count = 0
    for lineno, completion, record, ctx in read_examples(input_path):
        before = dict(stack.error_counts)
        scores = stack([completion], [record], ctx)
        row: dict[str, Any] = {"line": lineno, "id": record.id,
                               "scores": {name: values[0] for name, values in scores.items()}}
        errors = {n: c - before[n] for n, c in stack.error_counts.items() if c > before[n]}
        if errors:
            row["errors"] = errors
        out.write(json.dumps(row) + "\n")
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gpg_vl.rewards",
                                     description="Try reward rules on example completions.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="print the known reward names")
    check = sub.add_parser("check", help="score a JSONL file of completions")
    check.add_argument("--reward", required=True, help="NAME[,NAME...] (names, module:fn, file.py:fn)")
    check.add_argument("--input", "--completions", dest="input", required=True, type=Path,
                       help="JSONL: {completion, record, model_family?, input_size?} per line")
    check.add_argument("--out", type=Path, help="write JSON lines here instead of stdout")
    check.add_argument("--arg", action="append", default=[], help="RULE.OPTION=VALUE (repeatable)")
    ns = parser.parse_args(argv)
    if ns.command == "list":
        print("\n".join(list_rewards()))
        return 0
    names = [n.strip() for n in ns.reward.split(",") if n.strip()]
    try:
        if ns.out:
            with open(ns.out, "w", encoding="utf-8") as fh:
                n = run_check(names, ns.input, fh, parse_args_option(ns.arg))
        else:
            n = run_check(names, ns.input, sys.stdout, parse_args_option(ns.arg))
    except (CheckInputError, RewardLookupError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"scored {n} line(s) with {', '.join(names)}", file=sys.stderr)
    return 0
