"""Fixture builders for the converter tests: tiny images and files in each dataset's real schema."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image
from public_schemas import write_parquet  # noqa: F401  (the one Hub-style writer, re-exported)

ROOT = Path(__file__).resolve().parents[2]
SIZE = (32, 24)  # (w, h) of every fixture image unless a test says otherwise


def image_bytes(color=(255, 0, 0), size=SIZE, fmt="PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, fmt)
    return buf.getvalue()


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def embedded(data: bytes, path: str | None = None) -> dict:
    """An HF `Image` cell as the published parquet files hold it."""
    return {"bytes": data, "path": path}


def write_jsonl(path: Path, rows: list, raw_lines: tuple[str, ...] = ()) -> Path:
    lines = [json.dumps(r) for r in rows] + list(raw_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_image_file(root: Path, rel: str, data: bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run_cli(module: str, *args: str) -> subprocess.CompletedProcess:
    """`python -m data_prep.<module> ...` from the repository root, as the README shows it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", f"data_prep.{module}", *map(str, args)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def images_in(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "images").iterdir())


def assert_paths_inside(out: Path, records: list[dict]) -> None:
    """Every image path is relative, stays inside `out`, and exists."""
    for rec in records:
        for rel in rec["images"]:
            assert not os.path.isabs(rel) and ".." not in Path(rel).parts, rel
            assert (out / rel).is_file(), rel
