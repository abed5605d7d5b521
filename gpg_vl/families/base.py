"""The family adapter: everything that differs between model families, in one place.

A family is one instance of a `Family` subclass, in its own small file (qwen2_vl.py,
smolvlm.py, ...), registered under the Hugging Face `model_type`s it serves. The rest of
gpg_vl asks the adapter and never tests a model type:

- vision: how an image is resized once (`vision`), what the processor returns for it and
  how those tensors split by prompt (`split_vision`) and go back into the model
  (`model_inputs`);
- positions: the prompt's position ids (`prompt_positions`: 3-row M-RoPE or 1-row), where a
  completion continues them, and so whether the packed training forward and shared-prefix
  decoding apply (`packing_refusal`, `decoding_refusal`: None, or why not);
- text: the box convention the model speaks (with its source), the special tokens never
  sampled, the FSDP wrap classes, the vLLM prompt format;
- its tiny builder: `tiny_config` / `tiny_processor` for `model.build_tiny`.

docs/model_families.md says how to add one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

from PIL import Image
from torch import Tensor

from ..data.vision import VisionSettings


class Family:
    name: ClassVar[str]
    model_types: ClassVar[tuple[str, ...]]
    box_convention: ClassVar[str]
    "grid1000 | input_pixels | normalized | original_pixels (gpg_vl/rewards/context.py)."
    box_source: ClassVar[str]
    "Where the convention is documented (model card, paper, processor code)."
    never_sample: ClassVar[tuple[str, ...]]
    "Special tokens a policy must never emit (image placeholders, chat control tokens)."
    end_of_turn: ClassVar[str]
    "The token that ends an assistant turn (sampling stops there)."
    fsdp_wrap: ClassVar[tuple[str, ...]]
    "Decoder / vision block classes FSDP shards one by one."
    lora_targets: ClassVar[tuple[str, ...]] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                               "down_proj")
    "Linear layers of the language model that LoRA adapts by default (its attention and MLP projections)."
    language_model: ClassVar[tuple[str, ...]] = ("model.language_model.",)
    "Module-name prefixes of the language model (where lora_targets are looked up)."
    vision_modules: ClassVar[tuple[str, ...]] = ("model.visual.",)
    "Module-name prefixes of the vision tower and its merger / projector (adapted only with lora.train_vision)."
    token_types: ClassVar[str | None] = "mm_token_type_ids"
    "The forward's keyword for the processor's image-token marks (None: the model takes none)."
    position_rows: ClassVar[int] = 3
    "Rows of position ids: 3 for M-RoPE (temporal, height, width), 1 for plain RoPE."
    packing_refusal: ClassVar[str | None] = None
    "Why the packed (shared-prompt) training forward cannot run on this family; None: it can."
    decoding_refusal: ClassVar[str | None] = None
    "Why shared-prefix decoding cannot run on this family; None: it can."
    tiny_specials: ClassVar[tuple[str, ...]] = ()
    tiny_added: ClassVar[tuple[str, ...]] = ()
    "Ordinary (not special) whole tokens of the real vocabulary the tiny tokenizer must have too."
    tiny_template: ClassVar[str] = ""
    tiny_eos: ClassVar[str] = ""
    tiny_pad: ClassVar[str] = ""

    # --- vision ------------------------------------------------------------------------

    def processor_kwargs(self, min_pixels: int, max_pixels: int) -> dict:
        """`from_pretrained` overrides of the processor from vision.*; default none (it resizes its own way)."""
        return {}

    def vision(self, processor, min_pixels: int, max_pixels: int) -> VisionSettings:
        """How each image is resized once; default: the processor resizes (no resize here)."""
        return ProcessorVision(processor, min_pixels, max_pixels)

    def split_vision(self, enc, counts: list[int]) -> tuple[dict[str, Tensor], dict[str, list[int]]]:
        """The processor's image tensors, concatenated on dim 0, and each prompt's row count per key.

        Default: one `pixel_values` row per image.
        """
        return {"pixel_values": enc["pixel_values"]}, {"pixel_values": list(counts)}

    def model_inputs(self, input_ids: Tensor, attention_mask: Tensor | None, token_types: Tensor | None,
                     vision: dict[str, Tensor]) -> dict[str, Tensor]:
        """Keyword arguments of the model's forward for these rows and their images."""
        out = dict(input_ids=input_ids, **vision)
        if attention_mask is not None:
            out["attention_mask"] = attention_mask
        if self.token_types and token_types is not None:
            out[self.token_types] = token_types
        return out

    # --- positions ---------------------------------------------------------------------

    def prompt_positions(self, model, input_ids: Tensor, attention_mask: Tensor, token_types: Tensor,
                         vision: dict[str, Tensor]) -> Tensor:
        """[R, B, P] position ids of left-padded prompts (R = position_rows); padding's unused.

        Default, plain RoPE: each real token's rank in its row.
        """
        return (attention_mask.long().cumsum(dim=1) - 1).clamp(min=0)[None]  # [1, B, P]

    def packing_reason(self, model) -> str | None:
        """Why this model's training forward runs per row (None: packed applies)."""
        from ..packing import PACKED_ATTENTION, attn_implementation

        if self.packing_refusal:
            return self.packing_refusal
        attn = attn_implementation(model)
        if attn not in PACKED_ATTENTION:
            return f"attention {attn!r} cannot attend a packed row (packing needs one of {PACKED_ATTENTION})"
        return sliding_window(model)

    def decoding_reason(self, model) -> str | None:
        """Why this model samples through `generate` (None: shared-prefix decoding applies)."""
        return self.decoding_refusal or sliding_window(model)

    # --- text --------------------------------------------------------------------------

    def format_box(self, box: list[float]) -> str:
        """A box in this family's coordinates, written the way the family writes boxes."""
        return '{"bbox_2d": [' + ", ".join(f"{v:g}" for v in box) + "]}"

    def vllm_prompt(self, processor, ids: list[int], text: str, images: list) -> dict:
        """One vLLM request. Default: the template's text tokenized as the collator tokenized it,
        one placeholder per image, which vLLM's processor expands itself (`ids`, the expanded
        form, would be expanded again: a SmolVLM tile block holds the `<image>` token)."""
        tokens = processor.tokenizer(text, add_special_tokens=False)["input_ids"]
        return {"prompt_token_ids": tokens, "multi_modal_data": {"image": images}}

    # --- the tiny builder --------------------------------------------------------------

    def tiny_tokenizer_kwargs(self) -> dict:
        """Extra named special tokens of the family's tokenizer (e.g. Gemma 3's boi_token)."""
        return {}

    def tiny_init(self, model) -> None:
        """Fix-ups of a freshly initialised tiny model (default none)."""

    def tiny_config(self, tok, hidden: int, layers: int, heads: int, vision_width: int, vision_depth: int):
        raise NotImplementedError(f"no tiny builder for {self.name}")

    def tiny_processor(self, tok, min_pixels: int, max_pixels: int):
        raise NotImplementedError(f"no tiny builder for {self.name}")

    def __repr__(self) -> str:
        return f"<family {self.name}>"


def bare(model):
    """The transformers model inside DDP / DeepSpeed wrappers and a peft PeftModel (whose
    LoRA layers live inside it, so calling it runs the adapted model)."""
    model = getattr(model, "module", model)
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def sliding_window(model) -> str | None:
    config = bare(model).config
    text = getattr(config, "text_config", config)
    if "sliding_attention" in (getattr(text, "layer_types", None) or []):
        return "sliding-window layers would ignore the shared-prompt layout"
    return None


class ProcessorVision:
    """For families whose processor resizes (and may split) images itself.

    The processor is the one resizer (HF and vLLM both run it), so nothing is resized
    here; the token count of an image is measured once per distinct size by running the
    processor on a blank image of that size.
    """

    def __init__(self, processor, min_pixels: int, max_pixels: int):
        self.processor, self.min_pixels, self.max_pixels = processor, min_pixels, max_pixels

    def resized_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) the model sees: a fixed input size (Gemma 3's 896 x 896), else the original."""
        size = getattr(self.processor.image_processor, "size", None) or {}
        if "height" in size and "width" in size:
            return int(size["width"]), int(size["height"])
        return width, height

    def prepare(self, image: Image.Image) -> Image.Image:
        return image

    def extra_tokens(self, width: int, height: int) -> int:
        return _expanded_tokens(self.processor, int(width), int(height))

    def processor_kwargs(self) -> dict:
        return {}


@lru_cache(maxsize=4096)
def _expanded_tokens(processor, width: int, height: int) -> int:
    """Tokens one image adds to a prompt beyond its placeholder, measured with the processor."""
    tok = processor.tokenizer
    text = processor.apply_chat_template([{"role": "user", "content": [{"type": "image"}]}], tokenize=False)
    plain = len(tok(text, add_special_tokens=False)["input_ids"])
    image = Image.new("RGB", (width, height), (128, 128, 128))
    enc = processor(text=[text], images=[image], return_tensors="pt", add_special_tokens=False)
    return int(enc["input_ids"].shape[1]) - plain
