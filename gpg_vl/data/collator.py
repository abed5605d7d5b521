"""The image-aware collator: records -> one left-padded PromptBatch, images processed once.

Each prompt's images are opened, resized (VisionSettings) and turned into pixel values
exactly once. Rows of a group, and the rows of the training forward, reuse them by
index (`PromptBatch.vision_for`), never by re-running the image processor. Over-long
prompts are rejected before any model work with a message naming the record; nothing is
ever truncated (truncating through image tokens is peers' "image features and image
tokens do not match").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from .record import Record
from .templates import build_messages, resolve_template
from .record import RecordError
from .vision import ImageError, VisionSettings, open_image


class PromptTooLong(ValueError):
    pass


@dataclass
class PromptBatch:
    """B prompts, left-padded, with their images processed once.

    input_ids, attention_mask, mm_token_type_ids: [B, P]
    pixel_values: [num_patches, C*T*ps*ps] for all images of all prompts, prompt-major
    image_grid_thw: [num_images, 3]
    images_per_prompt: [B]; original_sizes / input_sizes: per prompt, per image (w, h)
    """

    records: list[Record]
    input_ids: Tensor
    attention_mask: Tensor
    mm_token_type_ids: Tensor
    pixel_values: Tensor
    image_grid_thw: Tensor
    images_per_prompt: list[int]
    original_sizes: list[list[tuple[int, int]]]
    input_sizes: list[list[tuple[int, int]]]
    _patch_slices: list[tuple[int, int]] = field(default_factory=list, repr=False)
    _image_slices: list[tuple[int, int]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        patches = self.image_grid_thw.prod(dim=1).tolist()
        img_start, patch_start = 0, 0
        for count in self.images_per_prompt:
            n_patch = sum(patches[img_start:img_start + count])
            self._image_slices.append((img_start, img_start + count))
            self._patch_slices.append((patch_start, patch_start + n_patch))
            img_start += count
            patch_start += n_patch

    def __len__(self) -> int:
        return len(self.records)

    def vision_for(self, prompt_index: list[int]) -> tuple[Tensor, Tensor]:
        """pixel_values and image_grid_thw for rows whose prompts are `prompt_index`.

        Indexes the already-computed tensors; a prompt may repeat (one per group row).
        """
        patch_idx = torch.cat([torch.arange(*self._patch_slices[p]) for p in prompt_index])
        grid_idx = torch.cat([torch.arange(*self._image_slices[p]) for p in prompt_index])
        return self.pixel_values[patch_idx], self.image_grid_thw[grid_idx]

    def select(self, prompt_index: list[int]) -> "PromptBatch":
        """These prompts, in this order (a prompt may repeat); pixels indexed, not redone."""
        if prompt_index:
            pixel_values, grid = self.vision_for(prompt_index)
        else:
            pixel_values, grid = self.pixel_values[:0], self.image_grid_thw[:0]
        return PromptBatch(
            records=[self.records[i] for i in prompt_index], input_ids=self.input_ids[prompt_index],
            attention_mask=self.attention_mask[prompt_index],
            mm_token_type_ids=self.mm_token_type_ids[prompt_index], pixel_values=pixel_values,
            image_grid_thw=grid, images_per_prompt=[self.images_per_prompt[i] for i in prompt_index],
            original_sizes=[self.original_sizes[i] for i in prompt_index],
            input_sizes=[self.input_sizes[i] for i in prompt_index])

    def model_inputs(self) -> dict[str, Tensor]:
        return dict(input_ids=self.input_ids, attention_mask=self.attention_mask,
                    mm_token_type_ids=self.mm_token_type_ids, pixel_values=self.pixel_values,
                    image_grid_thw=self.image_grid_thw)


def _open(record: Record, index: int, ref) -> "object":
    """The decoded image; loading only reads headers, so a truncated file can first fail here."""
    try:
        return open_image(ref)
    except ImageError as err:
        raise RecordError(f"{record.where or record.id} (id={record.id}): field 'images[{index}]': {err} "
                          "(python -m gpg_vl.data check FILE decodes every image up front)", kind="image") from None


class PromptCollator:
    """Records -> PromptBatch through the model's own chat template and processor."""

    def __init__(self, processor, vision: VisionSettings, template: str = "plain",
                 max_prompt_length: int = 1024):
        self.processor = processor
        self.vision = vision
        self.template = resolve_template(template)
        self.max_prompt_length = max_prompt_length
        processor.tokenizer.padding_side = "left"
        self._image_pad = getattr(processor, "image_token", "<|image_pad|>")

    def prompt_text(self, record: Record) -> str:
        return self.processor.apply_chat_template(build_messages(record, self.template),
                                                  add_generation_prompt=True, tokenize=False)

    def prompt_length(self, record: Record, sizes: list[tuple[int, int]]) -> int:
        """Token count of the prompt with image placeholders expanded, without pixels."""
        text_tokens = len(self.processor.tokenizer(self.prompt_text(record))["input_ids"])
        image_tokens = sum(self.vision.num_image_tokens(w, h) for w, h in sizes)
        return text_tokens - len(sizes) + image_tokens

    def check_lengths(self, records: list[Record]) -> None:
        """Reject over-long prompts up front, naming every offending record."""
        bad = []
        for record in records:
            sizes = record.meta.get("original_sizes")
            if sizes is None:
                sizes = [open_image(ref).size for ref in record.images]
            n = self.prompt_length(record, [tuple(s) for s in sizes])
            if n > self.max_prompt_length:
                bad.append(f"{record.where or record.id} (id={record.id}): {n} tokens")
        if bad:
            shown = "\n  ".join(bad[:20]) + (f"\n  ... and {len(bad) - 20} more" if len(bad) > 20 else "")
            raise PromptTooLong(f"{len(bad)} prompt(s) exceed max_prompt_length="
                                f"{self.max_prompt_length} (image tokens included); shorten them, "
                                f"lower vision.max_pixels or raise the limit:\n  {shown}")

    def __call__(self, records: list[Record]) -> PromptBatch:
        texts, images, counts, orig, seen = [], [], [], [], []
        for record in records:
            opened = [_open(record, i, ref) for i, ref in enumerate(record.images)]
            resized = [self.vision.prepare(im) for im in opened]
            texts.append(self.prompt_text(record))
            images += resized
            counts.append(len(resized))
            orig.append([im.size for im in opened])
            seen.append([im.size for im in resized])
        enc = self.processor(text=texts, images=images, padding=True, return_tensors="pt",
                             images_kwargs={"size": {"shortest_edge": self.vision.min_pixels,
                                                     "longest_edge": self.vision.max_pixels}})
        lengths = enc["attention_mask"].sum(dim=1).tolist()
        for record, n in zip(records, lengths):
            if n > self.max_prompt_length:
                raise PromptTooLong(f"{record.where or record.id} (id={record.id}): prompt has {n} "
                                    f"tokens > max_prompt_length={self.max_prompt_length}")
        mm = enc.get("mm_token_type_ids")
        if mm is None:
            mm = torch.zeros_like(enc["input_ids"])
        return PromptBatch(records=list(records), input_ids=enc["input_ids"],
                           attention_mask=enc["attention_mask"], mm_token_type_ids=mm,
                           pixel_values=enc["pixel_values"], image_grid_thw=enc["image_grid_thw"],
                           images_per_prompt=counts, original_sizes=orig, input_sizes=seen)
