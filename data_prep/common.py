"""What every converter shares: the CLI, the image store, the JSONL writer, the skip summary.

A converter is one function `to_records(row, rid, ctx) -> Record | list[Record]` plus a
`main(argv)` that builds a parser with `parser()`, reads rows with `data_prep.sources`,
and hands both to `run()`. Everything about output lives here, so the guarantees hold
for every dataset at once:

- `DIR/<split>.jsonl` is written through a temporary file and renamed at the end, so a
  fatal error never leaves a half-written split behind.
- Every image, embedded or path-referenced, is decoded once (an undecodable one skips its
  record), then stored as `DIR/images/<sha1 of bytes><ext>`: the same bytes are written
  once, whatever rows or splits refer to them. Path-referenced images are COPIED in, so
  the output folder is self-contained and record paths never leave it.
- A row that cannot be converted raises `Skip(reason, detail)`; `run()` prints one line
  naming file, row/line and id, and the summary counts skips by reason. Every record is
  checked against its task as training will check it (`gpg_vl.data.tasks`) before its
  line is written, and the written file goes through `python -m gpg_vl.data check`.
- Nothing is created under `--out` until the source yields its first row, so a wrong
  `--src` leaves no empty folders behind.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple

from PIL import Image, UnidentifiedImageError

from gpg_vl.data.record import Record, RecordError, record_from_dict
from gpg_vl.data.tasks import check_task

IMAGE_DIR = "images"
# Past this many lines per reason the rest are only counted: MathVista's test split alone
# has 5141 rows without an answer, and one line each would bury the summary.
MAX_MESSAGES_PER_REASON = 20
_EXT_BY_FORMAT = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif"}


class FatalError(Exception):
    """The whole conversion cannot go on (a corrupt parquet file, a missing split)."""


class Skip(Exception):
    """This row cannot become a record; `reason` is the summary's bucket, `detail` the specifics."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass
class Row:
    """One source row: `where` names it for messages ("val-0.parquet:row 17"), `index` makes its id."""

    where: str
    index: int
    data: dict[str, Any] | None
    error: str | None = None  # set by readers for a row they could not parse (bad JSON line)


def safe_relpath(rel: str) -> str:
    """Normalise an image path that must stay inside its root; `Skip` if it is absolute or climbs out.

    The check is lexical on purpose: a COCO root that is itself a symlink farm is fine,
    a `../` in the data is not.
    """
    if not isinstance(rel, str) or not rel.strip():
        raise Skip("missing image", f"image path is {rel!r}")
    norm = os.path.normpath(rel.strip())
    if os.path.isabs(norm) or norm == ".." or norm.startswith(".." + os.sep):
        raise Skip("unsafe image path", f"{rel!r} escapes the image root")
    return norm


class StoredImage(NamedTuple):
    path: str  # relative to the output JSONL's directory, e.g. "images/3f2a...c1.png"
    size: tuple[int, int]  # (width, height) of the original image


class ImageStore:
    """Content-addressed image folder `DIR/images/`; each distinct image is decoded and written once.

    Images met while converting a row stay pending until `commit()` (the row became
    records) or `discard()` (it was skipped), so a skipped row leaves no file behind.
    """

    def __init__(self, out_dir: Path):
        self.root = out_dir / IMAGE_DIR
        self._known: dict[str, StoredImage] = {}  # sha1 -> decoded once
        self._written: set[str] = set()
        self._pending: dict[str, bytes] = {}
        self._by_file: dict[Path, str] = {}  # source file -> sha1, so a file is read once
        self.new_files = 0

    def add_bytes(self, data: bytes) -> StoredImage:
        return self._known[self._add(data)]

    def _add(self, data: bytes) -> str:
        """Decode new content once, queue it for writing; returns its sha1."""
        digest = hashlib.sha1(data).hexdigest()
        if digest not in self._known:
            size, ext = _decode(data)
            self._known[digest] = StoredImage(f"{IMAGE_DIR}/{digest}{ext}", size)
        if digest not in self._written:
            self._pending[digest] = data
        return digest

    def add_embedded(self, value: Any) -> StoredImage:
        """An HF `Image` cell as arrow gives it ({"bytes", "path"}) or raw bytes."""
        data = value.get("bytes") if isinstance(value, dict) else value
        if not isinstance(data, (bytes, bytearray)) or not data:
            raise Skip("missing image", "no embedded image bytes")
        return self.add_bytes(bytes(data))

    def add_file(self, root: Path | None, rel: str) -> StoredImage:
        """Copy in an image given by a path relative to `root` (the dataset's image folder)."""
        if root is None:
            raise FatalError("this source references images by path: pass --image-root")
        path = root / safe_relpath(rel)
        digest = self._by_file.get(path)
        if digest in self._written:
            return self._known[digest]
        try:
            data = path.read_bytes()
        except OSError as e:
            raise Skip("missing image", f"cannot read {path}: {e.strerror}") from None
        self._by_file[path] = self._add(data)
        return self._known[self._by_file[path]]

    def commit(self) -> None:
        """Write the pending images of a row that became records (atomically, once per content)."""
        if self._pending:
            self.root.mkdir(parents=True, exist_ok=True)
        for digest, data in self._pending.items():
            dest = self.root / Path(self._known[digest].path).name
            if not dest.exists():
                tmp = dest.with_name(dest.name + ".tmp")
                tmp.write_bytes(data)
                os.replace(tmp, dest)
                self.new_files += 1
            self._written.add(digest)
        self._pending.clear()

    def discard(self) -> None:
        self._pending.clear()


def _decode(data: bytes) -> tuple[tuple[int, int], str]:
    """Fully decode once (a truncated JPEG only fails on load) and pick the extension from the content."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return im.size, _EXT_BY_FORMAT.get(im.format or "", f".{(im.format or 'img').lower()}")
    except UnidentifiedImageError:
        raise Skip("undecodable image", "not a known image format") from None
    except Exception as e:  # PIL raises OSError, SyntaxError, ValueError, DecompressionBombError...
        raise Skip("undecodable image", f"{type(e).__name__}: {e}") from None


@dataclass
class Summary:
    """Counts what was written and, by reason, what was skipped."""

    written: int = 0
    skipped: Counter = field(default_factory=Counter)

    def skip(self, row: Row, rid: str, err: Skip) -> None:
        self.skipped[err.reason] += 1
        n = self.skipped[err.reason]
        if n <= MAX_MESSAGES_PER_REASON:
            print(f"skip {row.where} (id={rid}): {err}", file=sys.stderr)
        elif n == MAX_MESSAGES_PER_REASON + 1:
            print(f"skip: further '{err.reason}' rows are only counted", file=sys.stderr)

    def report(self, dest: Path, images: ImageStore, notes: Counter | None = None) -> str:
        lines = [f"wrote {self.written} records to {dest} ({images.new_files} new images in {images.root})",
                 f"skipped {sum(self.skipped.values())} records"]
        lines += [f"  {reason}: {n}" for reason, n in sorted(self.skipped.items())]
        lines += [f"note: {what}: {n}" for what, n in sorted((notes or {}).items())]
        return "\n".join(lines)


@dataclass
class Context:
    """What `to_records` needs besides the row: names for ids/meta, the image store, the CLI options."""

    source: str
    split: str
    images: ImageStore
    args: argparse.Namespace
    notes: Counter = field(default_factory=Counter)
    """Counts a converter reports after the summary (e.g. golds that do not parse as maths)."""

    def record(self, rid: str, task: str, images: StoredImage | list[StoredImage], problem: str, answer: Any,
               choices: list[str] | None = None, /, **meta: Any) -> Record:
        """A Record of stored images; meta holds source, split and the (first) image's [w, h], then `meta`.

        Positional-only, so meta may carry keys such as `task` (CV-Bench's Count / Depth ...).
        """
        images = [images] if isinstance(images, StoredImage) else images
        meta = {"source": self.source, "split": self.split, "image_size": list(images[0].size), **meta}
        return Record(id=rid, task=task, images=[im.path for im in images], problem=problem, answer=answer,
                      choices=choices, meta=meta)


def parser(doc: str | None, *, split: str | None = "train", image_root: bool = False) -> argparse.ArgumentParser:
    """The shared CLI: --src, --out, --split (and --image-root for path-referenced images)."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", required=True, type=Path, help="the dataset as published (folder or file)")
    p.add_argument("--out", required=True, type=Path, help="output folder: <split>.jsonl and images/")
    p.add_argument("--split", default=split, help=f"split to read and to name the output (default: {split})")
    if image_root:
        p.add_argument("--image-root", type=Path, help="folder the dataset's image paths are relative to")
    return p


ToRecords = Callable[[dict[str, Any], str, Context], "Record | list[Record]"]


def run(rows: Iterable[Row], to_records: ToRecords, args: argparse.Namespace, *, source: str,
        limit: int | None = None) -> int:
    """Convert `rows` into `args.out/<split>.jsonl`; print skips and a summary. Returns the exit code.

    `limit` stops after that many records are written (SAT keeps its first N usable rows).
    """
    out: Path = args.out
    ctx = Context(source, args.split, ImageStore(out), args)
    dest = out / f"{args.split}.jsonl"
    tmp = dest.with_name(dest.name + ".tmp")
    summary, seen = Summary(), set()
    try:
        rows = iter(rows)
        first = next(rows, None)  # a missing or unreadable --src fails here, before anything is created
        out.mkdir(parents=True, exist_ok=True)
        with tmp.open("w", encoding="utf-8") as f:
            for row in itertools.chain([first] if first is not None else [], rows):
                if limit is not None and summary.written >= limit:
                    break
                _convert_row(row, to_records, ctx, summary, seen, f)
    except FatalError as e:
        tmp.unlink(missing_ok=True)
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        tmp.unlink(missing_ok=True)
        print(f"error: cannot write {out}: {e.strerror}", file=sys.stderr)
        return 2
    os.replace(tmp, dest)
    print(summary.report(dest, ctx.images, ctx.notes))
    return check_output(dest) if summary.written else 0


def check_output(dest: Path) -> int:
    """`python -m gpg_vl.data check` on what was written: its table, and 1 if it found a problem."""
    from gpg_vl.data.check import check_file

    report = check_file(dest)
    print(report.table())
    return 0 if report.clean else 1


def _convert_row(row: Row, to_records: ToRecords, ctx: Context, summary: Summary, seen: set, f) -> None:
    """One row -> its records, validated against the schema before a line is written."""
    rid = f"{ctx.source}-{ctx.split}-{row.index:06d}"
    try:
        if row.error is not None:
            raise Skip("unreadable row", row.error)
        out = to_records(row.data, rid, ctx)
        records = [out] if isinstance(out, Record) else list(out)
        for rec in records:
            _check_record(rec, row.where)
    except Skip as e:
        err = e
    except RecordError as e:
        err = Skip("invalid record", str(e))
    else:
        ctx.images.commit()
        _write(records, seen, summary, row, f)
        return
    ctx.images.discard()
    summary.skip(row, rid, err)


def _check_record(rec: Record, where: str) -> None:
    """The schema and the task checks training applies; a failure skips the row."""
    copy = record_from_dict(rec.to_json(), where)
    copy.meta["original_sizes"] = [copy.meta["image_size"]] if copy.meta.get("image_size") else []
    check_task(copy)


def _write(records: list[Record], seen: set, summary: Summary, row: Row, f) -> None:
    for rec in records:
        if rec.id in seen:
            raise FatalError(f"{row.where}: duplicate record id {rec.id}")
        seen.add(rec.id)
        f.write(json.dumps(rec.to_json(), ensure_ascii=False, allow_nan=False) + "\n")
        summary.written += 1

