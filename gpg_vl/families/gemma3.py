"""Gemma 3 (transformers `gemma3`; SigLIP at a fixed 896 x 896).

Every image is squashed to the vision tower's square input (Gemma3ImageProcessor; pan and
scan off), encoded, average-pooled to `mm_tokens_per_image` tokens (256) and projected. The
chat template emits `<start_of_image>` for an image and the processor expands it to
`\\n\\n<start_of_image><image_soft_token>*256<end_of_image>\\n\\n`; `pixel_values` are
[images, 3, H, W], one row per image. The processor's `token_type_ids` (1 on the soft
tokens) make each image's tokens attend to one another bidirectionally; the forward takes them.

Text: 1-row RoPE (local / global theta); 5 of every 6 layers are sliding-window.
"""

from __future__ import annotations

from torch import Tensor

from .base import Family

# Gemma 3's chat template, trimmed: the same layout ("<bos><start_of_turn>user\n<start_of_image>text
# <end_of_turn>\n<start_of_turn>model\n"), a system turn folded into the first user turn as
# the real one does, no tools.
GEMMA3_TEMPLATE = (
    "{{ bos_token }}"
    "{% if messages[0]['role'] == 'system' %}"
    "{% if messages[0]['content'] is string %}{% set first_user_prefix = messages[0]['content'] + '\n\n' %}"
    "{% else %}{% set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' %}{% endif %}"
    "{% set loop_messages = messages[1:] %}"
    "{% else %}{% set first_user_prefix = '' %}{% set loop_messages = messages %}{% endif %}"
    "{% for message in loop_messages %}"
    "{% if message['role'] == 'assistant' %}{% set role = 'model' %}"
    "{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') }}"
    "{% if message['content'] is string %}{{ message['content'] | trim }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}{{ '<start_of_image>' }}"
    "{% elif item['type'] == 'text' %}{{ item['text'] | trim }}{% endif %}"
    "{% endfor %}{% endif %}"
    "<end_of_turn>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)

IMAGE = 64  # the tiny SigLIP's input side (real: 896)
PATCH = 16  # (real: 14)
TOKENS_PER_IMAGE = 4  # 4 x 4 patches average-pooled 2 x 2 (real: 64 x 64 pooled 4 x 4 = 256)


class Gemma3(Family):
    name = "gemma3"
    model_types = ("gemma3",)
    box_convention = "normalized"
    box_source = ("Gemma 3 model card documents no box format; gpg_vl asks for x1, y1, x2, y2 normalised "
                  "to 0..1 of the image (the image is squashed to 896 x 896, so pixels would be ambiguous)")
    never_sample = ("<start_of_image>", "<image_soft_token>", "<end_of_image>", "<start_of_turn>")
    vision_modules = ("model.vision_tower.", "model.multi_modal_projector.")
    fsdp_wrap = ("Gemma3DecoderLayer", "SiglipEncoderLayer")  # vision_tower is SiglipVisionModel
    token_types = "token_type_ids"
    position_rows = 1
    end_of_turn = "<end_of_turn>"
    packing_refusal = ("sliding-window layers and bidirectional attention over image tokens "
                       "would ignore the shared-prompt layout")
    decoding_refusal = packing_refusal
    # Real ids: <pad> 0, <eos> 1, <bos> 2; an assistant turn ends with <end_of_turn> (generation_config eos).
    tiny_specials = ("<pad>", "<eos>", "<bos>", "<start_of_turn>", "<end_of_turn>", "<start_of_image>",
                     "<image_soft_token>", "<end_of_image>")
    tiny_added = ("\n", "\n\n", "\n\n\n", "\n\n\n\n")  # single tokens in Gemma's vocabulary (vLLM relies on it)
    tiny_template = GEMMA3_TEMPLATE
    tiny_eos = end_of_turn
    tiny_pad = "<pad>"

    # --- vision ------------------------------------------------------------------------

    def split_vision(self, enc, counts: list[int]) -> tuple[dict[str, Tensor], dict[str, list[int]]]:
        """pixel_values: [images, 3, H, W], one row per image (pan and scan off: no crops)."""
        if "pixel_values" not in enc:
            return {}, {}
        pixel_values = enc["pixel_values"]
        if pixel_values.shape[0] != sum(counts):
            raise ValueError(f"{pixel_values.shape[0]} image rows for {sum(counts)} images (pan and scan must be off)")
        return {"pixel_values": pixel_values}, {"pixel_values": list(counts)}

    def model_inputs(self, input_ids: Tensor, attention_mask: Tensor | None, token_types: Tensor | None,
                     vision: dict[str, Tensor]) -> dict[str, Tensor]:
        """Base keywords, with no pixel_values when these rows have no image (SigLIP cannot take 0)."""
        if vision.get("pixel_values") is not None and vision["pixel_values"].shape[0] == 0:
            vision = {}
        return super().model_inputs(input_ids, attention_mask, token_types, vision)

    # --- the tiny builder --------------------------------------------------------------

    def tiny_tokenizer_kwargs(self) -> dict:
        """As the real tokenizer: bos, and the named image tokens Gemma3Processor reads."""
        return dict(bos_token="<bos>", extra_special_tokens={
            "boi_token": "<start_of_image>", "image_token": "<image_soft_token>", "eoi_token": "<end_of_image>"})

    def tiny_config(self, tok, hidden: int, layers: int, heads: int, vision_width: int, vision_depth: int):
        from transformers import Gemma3Config

        ids = tok.convert_tokens_to_ids
        head_dim = hidden // heads
        text = dict(vocab_size=len(tok), hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=layers,
                    num_attention_heads=heads, num_key_value_heads=max(1, heads // 2), head_dim=head_dim,
                    query_pre_attn_scalar=head_dim, max_position_embeddings=8192, sliding_window=16,
                    layer_types=["full_attention" if (i + 1) % 6 == 0 or i == layers - 1 else "sliding_attention"
                                 for i in range(layers)],
                    rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                                     "full_attention": {"rope_type": "default", "rope_theta": 1000000.0}},
                    tie_word_embeddings=True, pad_token_id=ids("<pad>"), bos_token_id=ids("<bos>"),
                    eos_token_id=ids("<end_of_turn>"))
        vision = dict(model_type="siglip_vision_model", hidden_size=vision_width, intermediate_size=vision_width * 2,
                      num_hidden_layers=vision_depth, num_attention_heads=2, image_size=IMAGE, patch_size=PATCH,
                      layer_norm_eps=1e-6, vision_use_head=False)  # as gemma-3: no pooling head (it would get no grad)
        return Gemma3Config(text_config=text, vision_config=vision, mm_tokens_per_image=TOKENS_PER_IMAGE,
                            image_token_index=ids("<image_soft_token>"), boi_token_index=ids("<start_of_image>"),
                            eoi_token_index=ids("<end_of_image>"), tie_word_embeddings=True)

    def tiny_init(self, model) -> None:
        """Gemma3's _init_weights zeroes the projector (`mm_input_projection_weight`): image
        features would then be 0 and the vision tower would get no gradient. Give it random weights."""
        import torch

        weight = model.model.multi_modal_projector.mm_input_projection_weight
        with torch.no_grad():
            weight.normal_(0.0, model.config.initializer_range or 0.02)

    def tiny_processor(self, tok, min_pixels: int, max_pixels: int):
        """Gemma3Processor at the tiny input size; min/max_pixels do not apply (fixed square input)."""
        from transformers import Gemma3ImageProcessor, Gemma3Processor

        image = Gemma3ImageProcessor(size={"height": IMAGE, "width": IMAGE})
        return Gemma3Processor(image_processor=image, tokenizer=tok, image_seq_length=TOKENS_PER_IMAGE,
                               chat_template=self.tiny_template)
