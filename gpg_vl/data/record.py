"""The one record schema every task and every converter uses (see DESIGN.md).

One JSON object per line:

    {"id": "refcoco-val-000123", "task": "grounding",
     "images": ["relative/or/absolute/path.jpg"],
     "problem": "Please provide the bounding box of: the lady with the blue shirt",
     "answer": [103.9, 300.0, 238.2, 477.4],
     "choices": ["97", "102"],                 # optional
     "meta": {"source": "refcoco", "split": "val", "image_size": [427, 640]}}

`answer` is task-specific: a box [x1, y1, x2, y2] in ORIGINAL image pixels, a label
string, a number, a LaTeX string, a choice letter, or a list of boxes (detection).
`images` holds paths (relative to an image root) or, when loaded through `datasets`,
PIL images / encoded bytes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from PIL import Image


class RecordError(ValueError):
    """A record that breaks the schema; the message names where it came from.

    `kind` buckets it for summaries (schema, json, image, answer, reward/task, problem, ...).
    """

    def __init__(self, message: str, kind: str = "schema"):
        super().__init__(message)
        self.kind = kind


@dataclass
class Record:
    id: str
    task: str
    images: list[Any]
    problem: str
    answer: Any
    choices: list[str] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    where: str = field(default="", compare=False, repr=False)
    "Where the record came from (file:line), for error messages; never written out."

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (embedded images are not serialisable and must be paths)."""
        out = asdict(self)
        del out["where"]
        if out["choices"] is None:
            del out["choices"]
        return out


_REQUIRED = ("id", "task", "images", "problem", "answer")
_KNOWN = set(_REQUIRED) | {"choices", "meta"}


def record_from_dict(obj: Any, where: str) -> Record:
    """Validate one parsed JSON object and build a Record.

    `where` names the source for error messages, e.g. "data/train.jsonl:17".
    Unknown top-level keys are rejected so a typo never silently drops a field.
    """
    if not isinstance(obj, dict):
        raise RecordError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    rid = obj.get("id", "?")
    if "id" in obj and (isinstance(obj["id"], bool) or not isinstance(obj["id"], (str, int))
                        or not str(obj["id"]).strip()):
        raise RecordError(f"{where} (id={rid!r}): field 'id' must be a non-empty string or an integer")
    missing = [k for k in _REQUIRED if k not in obj]
    if missing:
        hint = "; is this a source dataset? convert it with data_prep (see data_prep/README.md)" \
            if len(missing) > 1 and set(obj) - _KNOWN else ""
        raise RecordError(f"{where} (id={rid}): missing field(s) {', '.join(missing)}{hint}")
    unknown = sorted(set(obj) - _KNOWN)
    if unknown:
        raise RecordError(f"{where} (id={rid}): unknown field(s) {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(_KNOWN))}")
    images = obj["images"]
    if isinstance(images, (str, bytes, Image.Image, dict)):
        images = [images]
    if not isinstance(images, list) or not images:
        raise RecordError(f"{where} (id={rid}): field 'images' must be a non-empty list")
    if not isinstance(obj["problem"], str) or not obj["problem"].strip():
        raise RecordError(f"{where} (id={rid}): field 'problem' must be a non-empty string")
    if not isinstance(obj["task"], str) or not obj["task"]:
        raise RecordError(f"{where} (id={rid}): field 'task' must be a non-empty string")
    answer = obj["answer"]
    if answer is None or (isinstance(answer, str) and not answer.strip()):
        raise RecordError(f"{where} (id={rid}): field 'answer' is empty")
    if isinstance(answer, float) and not math.isfinite(answer):
        raise RecordError(f"{where} (id={rid}): field 'answer' is not finite")
    choices = obj.get("choices")
    if choices is not None and not (isinstance(choices, list) and all(isinstance(c, str) for c in choices)):
        raise RecordError(f"{where} (id={rid}): field 'choices' must be a list of strings")
    meta = obj.get("meta") or {}
    if not isinstance(meta, dict):
        raise RecordError(f"{where} (id={rid}): field 'meta' must be an object")
    return Record(id=str(obj["id"]), task=obj["task"], images=images, problem=obj["problem"],
                  answer=answer, choices=choices, meta=meta, where=where)
