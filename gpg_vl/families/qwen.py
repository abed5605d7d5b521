"""What every Qwen VL family shares: smart resize, patches + image_grid_thw, M-RoPE, the
`<|vision_start|><|image_pad|><|vision_end|>` placeholder and the tiny builder's parts."""

from __future__ import annotations

from torch import Tensor

from ..data.vision import VisionSettings
from .base import Family, bare

QWEN_SPECIALS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
)

# Qwen2-VL's chat template, trimmed to what images + text need; same token layout, but no
# default system turn (it would be a third of the tiny demo's prompt tokens).
QWEN_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


class QwenVL(Family):
    never_sample = ("<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
                    "<|im_start|>")
    end_of_turn = "<|im_end|>"
    tiny_specials = QWEN_SPECIALS
    tiny_template = QWEN_TEMPLATE
    tiny_eos = "<|im_end|>"
    tiny_pad = "<|endoftext|>"
    patch_size = 14

    def processor_kwargs(self, min_pixels: int, max_pixels: int) -> dict:
        return {"size": {"shortest_edge": min_pixels, "longest_edge": max_pixels}}

    def vision(self, processor, min_pixels: int, max_pixels: int) -> VisionSettings:
        return VisionSettings.of(processor, min_pixels, max_pixels)

    def split_vision(self, enc, counts: list[int]):
        """pixel_values: one row per patch ([patches, C*T*ps*ps]); image_grid_thw: one per image."""
        grid = enc["image_grid_thw"]  # [images, 3]
        patches = grid.prod(dim=1).tolist()
        rows, start = [], 0
        for n in counts:
            rows.append(sum(patches[start:start + n]))
            start += n
        return ({"pixel_values": enc["pixel_values"], "image_grid_thw": grid},
                {"pixel_values": rows, "image_grid_thw": list(counts)})

    def prompt_positions(self, model, input_ids: Tensor, attention_mask: Tensor, token_types: Tensor,
                         vision: dict[str, Tensor]) -> Tensor:
        """The model's own M-RoPE index: [3, B, P] (Qwen3's interleaving happens in its rotary)."""
        inner = bare(model)  # DDP / DeepSpeed / peft wrappers keep the model here
        grid = vision.get("image_grid_thw")
        positions, _ = inner.model.get_rope_index(
            input_ids=input_ids, mm_token_type_ids=token_types,
            image_grid_thw=grid if grid is not None and len(grid) else None, attention_mask=attention_mask)
        return positions

    def vllm_prompt(self, processor, ids: list[int], text: str, images: list) -> dict:
        """Token ids with each run of image placeholders folded to one: the form vLLM expands."""
        image_id = processor.tokenizer.convert_tokens_to_ids(processor.image_token)
        return {"prompt_token_ids": fold_placeholders(ids, image_id), "multi_modal_data": {"image": images}}

    # --- tiny ---

    def special_ids(self, tok) -> dict:
        return {k: tok.convert_tokens_to_ids(t) for k, t in [
            ("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
            ("vision_start_token_id", "<|vision_start|>"), ("vision_end_token_id", "<|vision_end|>")]}

    def text_config(self, tok, hidden: int, layers: int, heads: int, **extra) -> dict:
        head_dim = hidden // heads
        half = head_dim // 2
        section = [half - 2 * (half // 3), half // 3, half // 3]  # sums to head_dim / 2
        return dict(vocab_size=len(tok), hidden_size=hidden, intermediate_size=hidden * 2,
                    num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                    max_position_embeddings=4096, tie_word_embeddings=True,
                    rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": section},
                    bos_token_id=tok.convert_tokens_to_ids("<|endoftext|>"),
                    eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"),
                    pad_token_id=tok.convert_tokens_to_ids("<|endoftext|>"), **extra)

    def tiny_processor(self, tok, min_pixels: int, max_pixels: int):
        from transformers import Qwen2VLImageProcessor, Qwen2VLProcessor, Qwen2VLVideoProcessor

        return Qwen2VLProcessor(image_processor=Qwen2VLImageProcessor(min_pixels=min_pixels, max_pixels=max_pixels),
                                tokenizer=tok, video_processor=Qwen2VLVideoProcessor(), chat_template=self.tiny_template)


def fold_placeholders(ids: list[int], image_token_id: int) -> list[int]:
    """Collapse each run of image placeholders to one token."""
    return [t for i, t in enumerate(ids) if t != image_token_id or i == 0 or ids[i - 1] != image_token_id]
