"""Load records from JSONL, a `datasets` folder (save_to_disk) or parquet, and check them.

Every check that can fail on data runs here, before any model work: schema (file, line,
field), image files present and decodable, and (in the collator) prompt length. With
`on_bad="skip"` a bad record is counted, logged and skipped instead of stopping the run.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Iterator

from .record import Record, RecordError, record_from_dict
from .vision import ImageError, image_size, resolve_image

log = logging.getLogger(__name__)


class DataError(ValueError):
    pass


def _iter_jsonl(path: Path) -> Iterator[tuple[str, object]]:
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as err:
                yield where, RecordError(f"{where}: malformed JSON ({err.msg} at column {err.colno})")


def _iter_hf(path: Path, split: str) -> Iterator[tuple[str, object]]:
    import datasets

    try:
        if path.is_dir() and not any(path.glob("*.parquet")):
            ds = datasets.load_from_disk(str(path))
            if isinstance(ds, datasets.DatasetDict):
                ds = ds[split]
        else:
            files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
            ds = datasets.load_dataset("parquet", data_files=[str(f) for f in files], split="train")
    except Exception as err:  # corrupt or foreign files: name them, do not dump a trace
        raise DataError(f"{path}: cannot read as a datasets folder or parquet: {err}") from err
    ds = ds.cast_column("images", datasets.Sequence(datasets.Image(decode=False))) \
        if "images" in ds.column_names and not isinstance(ds.features["images"], datasets.Sequence) else ds
    for i, row in enumerate(ds):
        yield f"{path}[{i}]", row


def iter_raw(path: str | Path, split: str = "train") -> Iterator[tuple[str, object]]:
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file not found: {path}")
    if path.suffix in (".jsonl", ".json"):
        return _iter_jsonl(path)
    return _iter_hf(path, split)


def load_records(path: str | Path, image_root: str | Path | None = None, split: str = "train",
                 on_bad: str = "error") -> list[Record]:
    """Read, validate and resolve every record; image paths become absolute.

    Relative image paths resolve against `image_root`, by default the file's folder.
    Raises DataError naming file, line and field on the first bad record, unless
    on_bad == "skip", which logs each skip and a count by reason at the end.
    """
    if on_bad not in ("error", "skip"):
        raise ValueError(f"on_bad must be error or skip, not {on_bad!r}")
    path = Path(path)
    root = Path(image_root) if image_root else (path.parent if path.is_file() else path)
    records: list[Record] = []
    skipped: Counter[str] = Counter()
    for where, obj in iter_raw(path, split):
        try:
            if isinstance(obj, Exception):
                raise obj
            record = record_from_dict(obj, where)
            record.images = [resolve_image(ref, root) for ref in record.images]
            record.meta["original_sizes"] = [list(image_size(ref)) for ref in record.images]
        except (RecordError, ImageError) as err:
            msg = str(err) if str(err).startswith(where) else f"{where}: {err}"
            if on_bad == "error":
                raise DataError(msg) from err
            skipped[type(err).__name__] += 1
            log.warning("skipping record: %s", msg)
            continue
        records.append(record)
    if skipped:
        log.warning("%s: skipped %d bad record(s): %s", path, sum(skipped.values()), dict(skipped))
    if not records:
        raise DataError(f"{path}: no usable records")
    return records
