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

from .. import families
from .record import Record
from .templates import build_messages, resolve_template
from .record import RecordError
from .vision import ImageError, VisionSettings, open_image


class PromptTooLong(ValueError):
    pass


@dataclass
class PromptBatch:
    """B prompts, left-padded, with their images processed once.

    input_ids, attention_mask, mm_token_type_ids: [B, P] (mm_token_type_ids: 1 on image
    tokens, whatever the family's processor calls it)
    vision: the family's image tensors for all prompts, prompt-major, concatenated on dim 0
    (Qwen: pixel_values [patches, C*T*ps*ps] + image_grid_thw [images, 3]; Gemma 3:
    pixel_values [images, 3, H, W]; SmolVLM: pixel_values [tiles, 3, H, W] + pixel_attention_mask
    [tiles, H, W] + tiles [B], each prompt's tile count, one row per prompt)
    vision_rows: per key, per prompt: how many dim-0 rows of vision[key] are that prompt's
    family: the model family's name (gpg_vl.families), which knows how the tensors go back in
    images_per_prompt: [B]; original_sizes / input_sizes: per prompt, per image (w, h)
    texts: per prompt, the chat template's text (one placeholder per image, not expanded)
    """

    records: list[Record]
    input_ids: Tensor
    attention_mask: Tensor
    mm_token_type_ids: Tensor
    vision: dict[str, Tensor]
    vision_rows: dict[str, list[int]]
    family: str
    images_per_prompt: list[int]
    original_sizes: list[list[tuple[int, int]]]
    input_sizes: list[list[tuple[int, int]]]
    texts: list[str]
    _starts: dict[str, list[int]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for key, rows in self.vision_rows.items():
            self._starts[key] = [0] + torch.tensor(rows, dtype=torch.long).cumsum(0).tolist()

    def __len__(self) -> int:
        return len(self.records)

    @property
    def adapter(self):
        from ..families import get

        return get(self.family)

    def vision_for(self, prompt_index: list[int]) -> dict[str, Tensor]:
        """The image tensors of rows whose prompts are `prompt_index` (a prompt may repeat).

        Indexes the already-computed tensors; nothing is re-processed.
        """
        out = {}
        for key, value in self.vision.items():
            starts = self._starts[key]
            idx = [torch.arange(starts[p], starts[p + 1]) for p in prompt_index]
            out[key] = value[torch.cat(idx) if idx else torch.zeros(0, dtype=torch.long)]
        return out

    def select(self, prompt_index: list[int]) -> "PromptBatch":
        """These prompts, in this order (a prompt may repeat); pixels indexed, not redone."""
        return PromptBatch(
            records=[self.records[i] for i in prompt_index], input_ids=self.input_ids[prompt_index],
            attention_mask=self.attention_mask[prompt_index],
            mm_token_type_ids=self.mm_token_type_ids[prompt_index], vision=self.vision_for(prompt_index),
            vision_rows={k: [rows[i] for i in prompt_index] for k, rows in self.vision_rows.items()},
            family=self.family, images_per_prompt=[self.images_per_prompt[i] for i in prompt_index],
            original_sizes=[self.original_sizes[i] for i in prompt_index],
            input_sizes=[self.input_sizes[i] for i in prompt_index], texts=[self.texts[i] for i in prompt_index])

    def model_inputs(self) -> dict[str, Tensor]:
        """The model's forward keywords for these prompts (the family names them)."""
        return self.adapter.model_inputs(self.input_ids, self.attention_mask, self.mm_token_type_ids, self.vision)

    @staticmethod
    def cat(batches: list["PromptBatch"], pad_token_id: int) -> "PromptBatch":
        """Prompts of several batches in one (re-padded on the left; images concatenated)."""
        first = batches[0]
        return PromptBatch(
            records=[r for p in batches for r in p.records],
            input_ids=pad_stack([p.input_ids for p in batches], pad_token_id, left=True),
            attention_mask=pad_stack([p.attention_mask for p in batches], 0, left=True),
            mm_token_type_ids=pad_stack([p.mm_token_type_ids for p in batches], 0, left=True),
            vision={k: torch.cat([p.vision[k] for p in batches]) for k in first.vision},
            vision_rows={k: [n for p in batches for n in p.vision_rows[k]] for k in first.vision_rows},
            family=first.family, images_per_prompt=[n for p in batches for n in p.images_per_prompt],
            original_sizes=[s for p in batches for s in p.original_sizes],
            input_sizes=[s for p in batches for s in p.input_sizes], texts=[t for p in batches for t in p.texts])


def pad_stack(tensors: list[Tensor], value: int | float, left: bool) -> Tensor:
    """Stack [n_i, L_i] tensors into [sum n_i, max L], padding on the left or right."""
    width = max(t.shape[1] for t in tensors)
    return torch.cat([torch.nn.functional.pad(t, (width - t.shape[1], 0) if left else (0, width - t.shape[1]),
                                              value=value) for t in tensors])


def _open(record: Record, index: int, ref) -> "object":
    """The decoded image; loading only reads headers, so a truncated file can first fail here."""
    try:
        return open_image(ref)
    except ImageError as err:
        raise RecordError(f"{record.where or record.id} (id={record.id}): field 'images[{index}]': {err} "
                          "(python -m gpg_vl.data check FILE decodes every image up front)", kind="image") from None


class PromptCollator:
    """Records -> PromptBatch through the model's own chat template and processor."""

    def __init__(self, processor, family, min_pixels: int = 3136, max_pixels: int = 401408,
                 template: str = "plain", max_prompt_length: int = 1024):
        """family: a gpg_vl.families Family or its name; with the processor it fixes how images
        are resized (`self.vision`, the one setting every engine uses)."""
        self.processor = processor
        adapter = families.get(family) if isinstance(family, str) else family
        self.family = adapter.name
        self.vision: VisionSettings = adapter.vision(processor, min_pixels, max_pixels)
        self.template = resolve_template(template)
        self.max_prompt_length = max_prompt_length
        processor.tokenizer.padding_side = "left"

    def prompt_text(self, record: Record) -> str:
        return self.processor.apply_chat_template(build_messages(record, self.template),
                                                  add_generation_prompt=True, tokenize=False)

    def prompt_length(self, record: Record, sizes: list[tuple[int, int]]) -> int:
        """Token count of the prompt with image placeholders expanded, without pixels."""
        text_tokens = len(self.processor.tokenizer(self.prompt_text(record), add_special_tokens=False)["input_ids"])
        return text_tokens + sum(self.vision.extra_tokens(w, h) for w, h in sizes)

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
            images.append(resized)  # per prompt: non-Qwen processors count images per sample
            counts.append(len(resized))
            orig.append([im.size for im in opened])
            seen.append([self.vision.resized_size(*im.size) for im in opened])
        enc = self.processor(text=texts, images=images if any(images) else None, padding=True, return_tensors="pt",
                             add_special_tokens=False, images_kwargs=self.vision.processor_kwargs())
        lengths = enc["attention_mask"].sum(dim=1).tolist()
        for record, n in zip(records, lengths):
            if n > self.max_prompt_length:
                raise PromptTooLong(f"{record.where or record.id} (id={record.id}): prompt has {n} "
                                    f"tokens > max_prompt_length={self.max_prompt_length}")
        mm = enc.get("mm_token_type_ids", enc.get("token_type_ids"))
        if mm is None:
            mm = torch.zeros_like(enc["input_ids"])
        vision, rows = families.get(self.family).split_vision(enc, counts)
        return PromptBatch(records=list(records), input_ids=enc["input_ids"],
                           attention_mask=enc["attention_mask"], mm_token_type_ids=mm, vision=vision,
                           vision_rows=rows, family=self.family, images_per_prompt=counts, original_sizes=orig,
                           input_sizes=seen, texts=texts)
