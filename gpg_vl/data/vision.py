"""One vision setting for every engine: load an image, resize it once (Qwen's smart resize).

HF and vLLM disagreeing on the resized size is the source of peers' "N image tokens vs
M placeholders" failures. Here an image is resized exactly once, by `VisionSettings`,
before any processor sees it, so every engine receives pixels of the same size and the
processor's own resize is a no-op (the size is already a multiple of patch * merge and
within [min_pixels, max_pixels]).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image
from qwen_vl_utils import smart_resize


class ImageError(ValueError):
    pass


@dataclass(frozen=True)
class VisionSettings:
    min_pixels: int = 3136
    max_pixels: int = 401408
    patch_size: int = 14
    merge_size: int = 2

    @property
    def factor(self) -> int:
        return self.patch_size * self.merge_size

    def resized_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) the model sees for an original image of this size."""
        h, w = smart_resize(height, width, factor=self.factor,
                            min_pixels=self.min_pixels, max_pixels=self.max_pixels)
        return w, h

    def num_image_tokens(self, width: int, height: int) -> int:
        """Placeholder tokens of one image after the 2x2 merge."""
        w, h = self.resized_size(width, height)
        return (w // self.factor) * (h // self.factor)

    def extra_tokens(self, width: int, height: int) -> int:
        """Tokens an image adds to a prompt beyond its one placeholder token."""
        return self.num_image_tokens(width, height) - 1

    def prepare(self, image: Image.Image) -> Image.Image:
        w, h = self.resized_size(*image.size)
        return image if (w, h) == image.size else image.resize((w, h), Image.BICUBIC)

    def processor_kwargs(self) -> dict:
        """The processor's own resize bounds, equal to ours (its resize is then a no-op)."""
        return {"size": {"shortest_edge": self.min_pixels, "longest_edge": self.max_pixels}}

    @classmethod
    def of(cls, processor, min_pixels: int, max_pixels: int) -> "VisionSettings":
        """Patch and merge size from the checkpoint's own image processor."""
        ip = processor.image_processor
        return cls(min_pixels, max_pixels, patch_size=ip.patch_size, merge_size=ip.merge_size)


def resolve_image(ref: Any, root: Path | None) -> Any:
    """A path reference made absolute against `root`; embedded images pass through."""
    if isinstance(ref, str) and root is not None and not Path(ref).is_absolute():
        return str(root / ref)
    return ref


def open_image(ref: Any) -> Image.Image:
    """A PIL RGB image from a path, bytes, a PIL image or an HF Image dict."""
    if isinstance(ref, dict):
        ref = ref.get("bytes") or ref.get("path")
    try:
        if isinstance(ref, Image.Image):
            image = ref
        elif isinstance(ref, (bytes, bytearray)):
            image = Image.open(io.BytesIO(ref))
        elif isinstance(ref, str):
            image = Image.open(ref)
        else:
            raise ImageError(f"unsupported image reference of type {type(ref).__name__}")
        return image.convert("RGB")
    except FileNotFoundError as err:
        raise ImageError(f"image file not found: {ref}") from err
    except (OSError, SyntaxError, Image.DecompressionBombError) as err:
        raise ImageError(f"unreadable image {ref if isinstance(ref, str) else '<embedded>'}: {err}") from err


def image_size(ref: Any) -> tuple[int, int]:
    """(width, height) without decoding pixels where possible; validates readability."""
    if isinstance(ref, Image.Image):
        return ref.size
    image = None
    try:
        if isinstance(ref, dict):
            ref = ref.get("bytes") or ref.get("path")
        image = Image.open(io.BytesIO(ref) if isinstance(ref, (bytes, bytearray)) else ref)
        image.verify()
        return image.size
    except FileNotFoundError as err:
        raise ImageError(f"image file not found: {ref}") from err
    except (OSError, SyntaxError, TypeError, AttributeError, Image.DecompressionBombError) as err:
        raise ImageError(f"unreadable image {ref if isinstance(ref, str) else '<embedded>'}: {err}") from err
