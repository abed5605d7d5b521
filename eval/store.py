"""The per-sample results file: appended as results arrive, read back to resume.

`<benchmark>.jsonl` holds one JSON object per evaluated item (id, prompt, completion,
parsed answer, score, ...). A batch's lines go out in ONE write followed by flush+fsync,
so an interruption loses at most the batch in flight; a torn last line (killed mid-write)
is cut off when the file is reopened. A rerun reads the ids already done and skips them.

Results are only comparable under the same settings (model, template, token cap, ...), so
those are saved beside the file (`<benchmark>.settings.json`); resuming under different
settings fails, naming what changed, instead of silently mixing two evaluations.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .registry import EvalError


class SampleStore:
    def __init__(self, path: str | Path, settings: dict, fresh: bool = False):
        self.path = Path(path)
        self.settings_path = self.path.with_suffix(".settings.json")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if fresh:
            self.path.unlink(missing_ok=True)
            self.settings_path.unlink(missing_ok=True)
        self._check_settings(settings)

    def _check_settings(self, settings: dict) -> None:
        settings = json.loads(json.dumps(settings))  # tuples -> lists, as read back
        if self.settings_path.exists() and self.path.exists():
            old = json.loads(self.settings_path.read_text())
            changed = [f"{k}: {old.get(k)!r} -> {settings.get(k)!r}"
                       for k in sorted(set(old) | set(settings)) if old.get(k) != settings.get(k)]
            if changed:
                raise EvalError(f"{self.path} holds results made with other settings "
                                f"({'; '.join(changed)}); pass --fresh to start over or use another --out")
        self.settings_path.write_text(json.dumps(settings, indent=1, sort_keys=True))

    def read(self) -> dict[str, dict]:
        """{id: row} of every complete line; a torn last line is cut from the file."""
        if not self.path.exists():
            return {}
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            with self.path.open("r+b") as fh:
                fh.truncate(end)
        rows = {}
        for line in data[:end].decode("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                rows[row["id"]] = row
        return rows

    def append(self, rows: list[dict]) -> None:
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
