"""Read a dataset exactly as it is published, as a stream of `Row`s.

Layouts understood by `read_rows(src, split)`:
- a folder written by `Dataset(Dict).save_to_disk` (has `dataset_dict.json` or `state.json`),
  read with `datasets.load_from_disk`;
- a folder of parquet files as on the Hub (`data/val-00000-of-00002.parquet`,
  `test_2d.parquet`, or `<split>/0000.parquet`), or one parquet file, read with pyarrow;
- a JSON file holding a list of objects, or a JSONL file (one object per line).

Embedded images arrive as arrow gives them, `{"bytes": ..., "path": ...}`, never decoded
here: the image store decodes each distinct image once. A parquet file that cannot be
read is fatal (`FatalError` naming the file); a bad JSONL line only skips that line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from data_prep.common import FatalError, Row

BATCH_ROWS = 256


def read_rows(src: Path, split: str | None) -> Iterator[Row]:
    """All rows of `split` in `src`, numbered 0.. in file order (ids are built from that number).

    A generator throughout, so even "no such folder" surfaces inside `common.run`.
    """
    if src.is_file():
        readers = {".parquet": _parquet_rows, ".json": _json_list_rows, ".jsonl": _jsonl_rows}
        if src.suffix not in readers:
            raise FatalError(f"{src}: expected .parquet, .json or .jsonl, or a dataset folder")
        yield from readers[src.suffix](src)
    elif not src.is_dir():
        raise FatalError(f"{src}: no such file or folder")
    elif (src / "dataset_dict.json").exists() or (src / "state.json").exists():
        yield from _saved_rows(src, split)
    else:
        yield from _parquet_split_rows(src, split)


def _saved_rows(src: Path, split: str | None) -> Iterator[Row]:
    """A `save_to_disk` folder: pick the split of a DatasetDict, or take the single Dataset."""
    import datasets  # heavy (~1.5 s); only this layout needs it

    try:
        ds = datasets.load_from_disk(str(src))
    except Exception as e:  # datasets raises several types for a damaged folder
        raise FatalError(f"{src}: cannot load the saved dataset ({type(e).__name__}: {e})") from None
    if isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise FatalError(f"{src}: no split {split!r}; it has {', '.join(ds)}")
        ds = ds[split]
    batches = ds.with_format("arrow").iter(batch_size=BATCH_ROWS)
    yield from _numbered(f"{src.name}[{split}]:row", _table_dicts(batches))


def _parquet_split_rows(src: Path, split: str | None) -> Iterator[Row]:
    files = sorted(src.rglob("*.parquet"))
    if not files:
        raise FatalError(f"{src}: no parquet files and not a save_to_disk folder")
    pattern = re.compile(rf"^{re.escape(split or '')}(?:[-._]|$)")
    chosen = [f for f in files if split and (pattern.match(f.stem) or f.parent.name == split)]
    if not chosen:
        found = ", ".join(str(f.relative_to(src)) for f in files[:8]) + (", ..." if len(files) > 8 else "")
        raise FatalError(f"{src}: no parquet files for split {split!r} (file name starting "
                         f"'{split}-' / '{split}_' or folder '{split}/'); found {found}")
    index = 0
    for path in chosen:
        for row in _parquet_rows(path, start=index):
            yield row
            index += 1


def _parquet_rows(path: Path, start: int = 0) -> Iterator[Row]:
    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS)
        for i, data in enumerate(_table_dicts(batches)):
            yield Row(f"{path.name}:row {i}", start + i, data)
    except (pa.ArrowException, OSError) as e:
        raise FatalError(f"{path}: corrupt parquet file ({type(e).__name__}: {e})") from None


def _table_dicts(batches: Iterable[Any]) -> Iterator[dict[str, Any]]:
    for batch in batches:
        yield from batch.to_pylist()


def _numbered(prefix: str, dicts: Iterable[dict[str, Any]]) -> Iterator[Row]:
    for i, data in enumerate(dicts):
        yield Row(f"{prefix} {i}", i, data)


def _json_list_rows(path: Path) -> Iterator[Row]:
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise FatalError(f"{path}: not a readable JSON file ({e})") from None
    if not isinstance(items, list):
        raise FatalError(f"{path}: expected a JSON list of objects, got {type(items).__name__}")
    for i, item in enumerate(items):
        error = None if isinstance(item, dict) else f"item is a {type(item).__name__}, not an object"
        yield Row(f"{path.name}:item {i}", i, item if error is None else None, error)


def _jsonl_rows(path: Path) -> Iterator[Row]:
    """One row per non-blank line; a line that is not a JSON object becomes a skipped row."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise FatalError(f"{path}: cannot read ({e.strerror})") from None
    index = 0
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        data, error = _parse_object(line)
        yield Row(f"{path.name}:line {n}", index, data, error)
        index += 1


def _parse_object(line: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        data = json.loads(line)
    except ValueError as e:
        return None, f"invalid JSON ({e})"
    if not isinstance(data, dict):
        return None, f"line is a {type(data).__name__}, not an object"
    return data, None
