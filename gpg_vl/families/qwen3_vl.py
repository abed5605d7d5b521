"""Qwen3-VL, dense (`qwen3_vl`) and MoE (`qwen3_vl_moe`).

Patch 16, merge 2 (32 px per visual token); DeepStack (visual features added to the first
text layers, at the image tokens, so the packed row keeps them); interleaved M-RoPE inside
the rotary embedding (the position ids are the same 3 rows as Qwen2-VL's).

Boxes: relative coordinates on a 0..1000 scale, `{"bbox_2d": [x1, y1, x2, y2], "label": ...}`
(Qwen3-VL cookbook "2d_grounding" and model card: "Qwen3-VL uses relative coordinates
ranging from 0 to 1000").
"""

from __future__ import annotations

from .qwen import QwenVL


class Qwen3VL(QwenVL):
    name = "qwen3_vl"
    model_types = ("qwen3_vl",)
    box_convention = "grid1000"
    box_source = "Qwen3-VL model card / cookbook 2d_grounding: relative coordinates on a 0..1000 scale"
    fsdp_wrap = ("Qwen3VLTextDecoderLayer", "Qwen3VLVisionBlock")
    patch_size = 16

    def text_config(self, tok, hidden: int, layers: int, heads: int, **extra) -> dict:
        text = super().text_config(tok, hidden, layers, heads, head_dim=hidden // heads, **extra)
        text["rope_parameters"]["mrope_interleaved"] = True
        return text

    def vision_config(self, hidden: int, vision_width: int, vision_depth: int) -> dict:
        return dict(depth=vision_depth, hidden_size=vision_width, out_hidden_size=hidden,
                    intermediate_size=vision_width * 2, num_heads=2, patch_size=16, spatial_merge_size=2,
                    temporal_patch_size=2, num_position_embeddings=256,
                    deepstack_visual_indexes=list(range(min(vision_depth, 1))))

    def tiny_config(self, tok, hidden: int, layers: int, heads: int, vision_width: int, vision_depth: int):
        from transformers import Qwen3VLConfig

        return Qwen3VLConfig(text_config=self.text_config(tok, hidden, layers, heads),
                             vision_config=self.vision_config(hidden, vision_width, vision_depth),
                             tie_word_embeddings=True, **self.special_ids(tok))

    def tiny_processor(self, tok, min_pixels: int, max_pixels: int):
        from transformers import Qwen2VLImageProcessor, Qwen3VLProcessor, Qwen3VLVideoProcessor

        image = Qwen2VLImageProcessor(patch_size=16, merge_size=2, temporal_patch_size=2,
                                      size={"shortest_edge": min_pixels, "longest_edge": max_pixels})
        return Qwen3VLProcessor(image_processor=image, tokenizer=tok, video_processor=Qwen3VLVideoProcessor(),
                                chat_template=self.tiny_template)


class Qwen3VLMoe(Qwen3VL):
    name = "qwen3_vl_moe"
    model_types = ("qwen3_vl_moe",)
    fsdp_wrap = ("Qwen3VLMoeTextDecoderLayer", "Qwen3VLMoeVisionBlock")
    # the routed experts are fused 3-D parameters, not Linear layers: adapters go on attention only
    lora_targets = ("q_proj", "k_proj", "v_proj", "o_proj")

    def tiny_config(self, tok, hidden: int, layers: int, heads: int, vision_width: int, vision_depth: int):
        from transformers import Qwen3VLMoeConfig

        text = self.text_config(tok, hidden, layers, heads, num_experts=4, num_experts_per_tok=2,
                                moe_intermediate_size=hidden, decoder_sparse_step=1)
        return Qwen3VLMoeConfig(text_config=text, vision_config=self.vision_config(hidden, vision_width, vision_depth),
                                tie_word_embeddings=True, **self.special_ids(tok))
