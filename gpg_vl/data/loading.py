"""Load records from JSONL, a `datasets` folder (save_to_disk) or parquet, and check them.

Every check that can fail on data runs here, before any model work: schema, the answer
against the record's task and the reward rules (`tasks.check_task`), image files present
and decodable, and (in the collator) prompt length. Each error names `file:line (id=...)`
and the field. With `on_bad="skip"` a bad record is counted, logged and skipped instead.
`iter_checked` yields every record with its problems, for `python -m gpg_vl.data check`.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .record import Record, RecordError, record_from_dict
from .tasks import TaskChecks, check_task
from .vision import ImageError, image_size, open_image, resolve_image

log = logging.getLogger(__name__)
MAX_MESSAGES_PER_KIND = 20
ON_BAD = ("error", "skip")


class DataError(ValueError):
    pass


@dataclass
class Checked:
    """One source item: its record (None if unusable), its error, its warnings as (kind, message)."""

    where: str
    record: Record | None
    error: RecordError | None = None
    warnings: list[tuple[str, str]] = field(default_factory=list)


def _iter_jsonl(path: Path) -> Iterator[tuple[str, object]]:
    try:
        with path.open(encoding="utf-8-sig") as fh:  # -sig: files saved by Windows editors start with a BOM
            for lineno, line in enumerate(fh, 1):
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                where = f"{path}:{lineno}"
                if lineno == 1 and line.lstrip().startswith("["):
                    raise DataError(f"{where}: this file holds a JSON list; records are one JSON object per "
                                    "line (JSONL). Convert it with data_prep (e.g. python -m data_prep.vlm_r1_rec)"
                                    " or write one object per line")
                try:
                    yield where, json.loads(line)
                except json.JSONDecodeError as err:
                    cut = " (the line ends there: is the object cut short, or spread over several lines?)" \
                        if err.pos >= len(line.rstrip()) else ""
                    yield where, RecordError(f"{where}: malformed JSON at column {err.colno}: {err.msg}{cut}",
                                             kind="json")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start}); "
                        "records are UTF-8 JSONL") from None


def _iter_hf(path: Path, split: str) -> Iterator[tuple[str, object]]:
    import datasets

    try:
        if path.is_dir() and not any(path.glob("*.parquet")):
            ds = datasets.load_from_disk(str(path))
            if isinstance(ds, datasets.DatasetDict):
                if split not in ds:
                    raise DataError(f"{path}: no split {split!r}; it has {', '.join(ds)}")
                ds = ds[split]
        else:
            files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
            ds = datasets.load_dataset("parquet", data_files=[str(f) for f in files], split="train")
    except DataError:
        raise
    except Exception as err:  # corrupt or foreign files: name them, do not dump a trace
        raise DataError(f"{path}: cannot read as a datasets folder or parquet: {err}") from err
    ds = ds.cast_column("images", datasets.Sequence(datasets.Image(decode=False))) \
        if "images" in ds.column_names and not isinstance(ds.features["images"], datasets.Sequence) else ds
    for i, row in enumerate(ds):
        yield f"{path}[{i}]", row


def iter_raw(path: str | Path, split: str = "train") -> Iterator[tuple[str, object]]:
    path = Path(path)
    if not path.exists():
        hint = f" (the folder {path.parent} does not exist either)" if not path.parent.exists() else ""
        raise DataError(f"data file not found: {path}{hint}")
    if path.suffix in (".jsonl", ".json"):
        return _iter_jsonl(path)
    if path.is_file() and path.suffix != ".parquet":
        raise DataError(f"{path}: unsupported file type {path.suffix or '(none)'}; give a .jsonl file, "
                        "a .parquet file, or a datasets save_to_disk / parquet folder")
    return _iter_hf(path, split)


def _resolve_images(record: Record, root: Path, decode: bool) -> None:
    """Absolute image paths and each image's (w, h) in meta.original_sizes; decode=True opens every pixel."""
    sizes = []
    for i, ref in enumerate(record.images):
        ref = resolve_image(ref, root)
        record.images[i] = ref
        try:
            sizes.append(list(open_image(ref).size if decode else image_size(ref)))
        except ImageError as err:
            hint = ""
            if "not found" in str(err) and isinstance(ref, str) and str(ref).startswith(str(root)):
                hint = f" (relative paths resolve against {root}; set data.image_root if yours are relative to another folder)"
            raise RecordError(f"{record.where} (id={record.id}): field 'images[{i}]': {err}{hint}",
                              kind="image") from None
    record.meta["original_sizes"] = sizes


def iter_checked(path: str | Path, image_root: str | Path | None = None, split: str = "train",
                 checks: TaskChecks = TaskChecks(), decode: bool = False) -> Iterator[Checked]:
    """Every item of `path`, read, validated, resolved and checked against its task.

    Relative image paths resolve against `image_root`, by default the file's folder.
    Raises DataError only when the file as a whole cannot be read.
    """
    path = Path(path)
    root = Path(image_root) if image_root else (path.parent if path.is_file() else path)
    if image_root and not root.is_dir():
        raise DataError(f"data.image_root={image_root}: no such folder")
    seen: dict[str, str] = {}
    for where, obj in iter_raw(path, split):
        try:
            if isinstance(obj, Exception):
                raise obj
            record = record_from_dict(obj, where)
            record.images = list(record.images)
            _resolve_images(record, root, decode)
            warnings = [("answer warning", w) for w in check_task(record, checks)]
        except RecordError as err:
            msg = str(err) if str(err).startswith(where) else f"{where}: {err}"
            yield Checked(where, None, RecordError(msg, kind=err.kind))
            continue
        if record.id in seen:
            warnings.append(("duplicate id", f"{where} (id={record.id}): field 'id': also used at {seen[record.id]}"))
        seen.setdefault(record.id, where)
        yield Checked(where, record, None, warnings)


def load_records(path: str | Path, image_root: str | Path | None = None, split: str = "train",
                 on_bad: str = "error", checks: TaskChecks = TaskChecks()) -> list[Record]:
    """Read, validate, check and resolve every record; image paths become absolute.

    Raises DataError naming file, line, id and field on the first bad record, unless
    on_bad == "skip", which logs each skip and a count by kind at the end.
    """
    if on_bad not in ON_BAD:
        raise DataError(f"data.on_bad_record={on_bad!r}: must be one of {', '.join(ON_BAD)}")
    records: list[Record] = []
    skipped: Counter[str] = Counter()
    warned: Counter[str] = Counter()
    for item in iter_checked(path, image_root, split, checks):
        for kind, message in item.warnings:
            warned[kind] += 1
            if warned[kind] <= MAX_MESSAGES_PER_KIND:
                log.warning("%s", message)
        if item.error is None:
            records.append(item.record)
            continue
        if on_bad == "error":
            raise DataError(f"{item.error} (data.on_bad_record=skip skips such records)")
        skipped[item.error.kind] += 1
        if skipped[item.error.kind] <= MAX_MESSAGES_PER_KIND:
            log.warning("skipping record: %s", item.error)
    if warned:
        log.warning("%s: %d warning(s): %s", path, sum(warned.values()), dict(warned))
    if skipped:
        log.warning("%s: skipped %d bad record(s): %s", path, sum(skipped.values()), dict(skipped))
    if not records:
        raise DataError(f"{path}: no usable records" + (f" (all {sum(skipped.values())} were bad)" if skipped else ""))
    return records
