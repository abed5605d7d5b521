"""What a reward needs beyond the text: image sizes and the model's box convention.

Box conventions (datasets.md, "Box conventions"); every box reward converts the model's
box to ORIGINAL image pixels, the space record answers are stored in:

| convention        | a model coordinate x means                 | used by                 |
| ----------------- | ------------------------------------------ | ----------------------- |
| `grid1000`        | x / 1000 * original_width                  | Qwen2-VL, Qwen3-VL, Qwen3.5, Visual-RFT |
| `input_pixels`    | x * original_width / input_width           | Qwen2.5-VL              |
| `normalized`      | x * original_width   (x in 0..1)           | SmolVLM, Gemma 3 (our choice) |
| `original_pixels` | x                                          | records, `generic`      |

(same for y with heights). `input_width` is the width of the image the model saw after
resizing (the collator's `input_sizes`). Each family states its convention and its source
in gpg_vl/families/<family>.py (`box_convention`, `box_source`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

Size = tuple[int, int]  # (width, height)

CONVENTIONS = ("grid1000", "input_pixels", "normalized", "original_pixels")

def family_conventions() -> dict[str, str]:
    """Each model family's box convention (gpg_vl.families), plus `generic`: original pixels."""
    from ..families import FAMILIES

    return {**{name: f.box_convention for name, f in FAMILIES.items()}, "generic": "original_pixels"}


def normalize_family(name: str) -> str:
    """'Qwen2.5-VL' / 'qwen2-vl' / 'qwen2_5_vl' -> 'qwen2_5_vl' / 'qwen2_vl' (HF model_type)."""
    return name.strip().lower().replace(".", "_").replace("-", "_")


@dataclass
class RewardContext:
    """Per-batch facts a rule may need. Lists are indexed [sample][image].

    Sizes may be missing (empty lists, or shorter than the batch): rules then fall back to
    `record.meta["image_size"]` for the original size and to the original size for the
    input size.
    """

    original_sizes: list[list[Size]] = field(default_factory=list)
    """Per sample, per image: (width, height) of the original image."""
    input_sizes: list[list[Size]] = field(default_factory=list)
    """Per sample, per image: (width, height) the model saw after resizing."""
    model_family: str = "generic"
    """A gpg_vl.families name (qwen2_vl, qwen3_vl, smolvlm, ...) or "generic"; picks the box convention."""
    box_convention: str | None = None
    """Override: one of CONVENTIONS; None = from model_family."""

    def __post_init__(self) -> None:
        self.model_family = normalize_family(self.model_family)
        if self.box_convention is not None and self.box_convention not in CONVENTIONS:
            raise ValueError(f"unknown box_convention {self.box_convention!r}; "
                             f"known: {', '.join(CONVENTIONS)}")
        if self.box_convention is None and self.model_family not in family_conventions():
            raise ValueError(f"model_family {self.model_family!r} has no known box convention "
                             f"(known families: {', '.join(family_conventions())}); "
                             f"set box_convention to one of {', '.join(CONVENTIONS)}")

    @property
    def convention(self) -> str:
        """The box convention in force: the override, else the family's."""
        return self.box_convention or family_conventions()[self.model_family]

    def original_size(self, i: int, record: Any = None, image: int = 0) -> Size | None:
        """Original (w, h) of sample i's image, else record.meta["image_size"], else None."""
        size = _lookup(self.original_sizes, i, image)
        if size is None and record is not None:
            size = _valid_size(getattr(record, "meta", {}).get("image_size"))
        return size

    def input_size(self, i: int, record: Any = None, image: int = 0) -> Size | None:
        """(w, h) the model saw for sample i's image; the original size when not given."""
        return _lookup(self.input_sizes, i, image) or self.original_size(i, record, image)

    def select(self, indices: list[int]) -> "RewardContext":
        """The context of a sub-batch (used to re-score items one at a time)."""
        def pick(sizes: list[list[Size]]) -> list[list[Size]]:
            return [sizes[i] if i < len(sizes) else [] for i in indices]
        return replace(self, original_sizes=pick(self.original_sizes),
                       input_sizes=pick(self.input_sizes))


def _lookup(sizes: list[list[Size]], i: int, image: int) -> Size | None:
    if i < len(sizes) and sizes[i] is not None and image < len(sizes[i]):
        return _valid_size(sizes[i][image])
    return None


def _valid_size(size: Any) -> Size | None:
    """(w, h) as positive numbers, or None for anything else."""
    try:
        w, h = size
        w, h = float(w), float(h)
    except (TypeError, ValueError):
        return None
    return (w, h) if w > 0 and h > 0 and w < float("inf") and h < float("inf") else None
