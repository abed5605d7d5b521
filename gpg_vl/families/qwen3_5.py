"""Qwen3.5, dense (`qwen3_5`) and MoE (`qwen3_5_moe`): natively multimodal.

3 of every 4 text layers are linear attention (Gated DeltaNet): a recurrent state over
the sequence, not attention over keys. The shared-prompt packed row cannot be expressed to
them (a completion's state would run through the other completions before it), and a
decoding step cannot read one shared copy of the prompt's keys, so the training forward
runs per row and sampling goes through `generate` (which copies the recurrent state per
row: correct). Left padding is zeroed before the linear layers' convolution and recurrence,
so a padded row's log-probs equal the unpadded row's (tests/test_families.py).

Patch 16, merge 2, interleaved M-RoPE over a quarter of each head (partial rotary).
Boxes: as Qwen3-VL, relative 0..1000 `bbox_2d` (the Qwen3.5 model card's grounding
examples use the Qwen3-VL format).
"""

from __future__ import annotations

from .qwen3_vl import Qwen3VL

LINEAR = "Gated DeltaNet (linear-attention) layers hold a recurrent state, which a shared-prompt layout cannot share"


class Qwen3_5(Qwen3VL):
    name = "qwen3_5"
    model_types = ("qwen3_5",)
    box_source = "Qwen3.5 model card (Qwen3-VL grounding format): relative coordinates on a 0..1000 scale"
    fsdp_wrap = ("Qwen3_5DecoderLayer", "Qwen3_5VisionBlock")
    # the Gated DeltaNet layers' projections too (in_proj_a / in_proj_b are one number per head: left out)
    lora_targets = Qwen3VL.lora_targets + ("in_proj_qkv", "in_proj_z", "out_proj")
    packing_refusal = LINEAR
    decoding_refusal = LINEAR

    def text_config(self, tok, hidden: int, layers: int, heads: int, **extra) -> dict:
        head_dim = hidden // heads
        rotary_half = head_dim // 8  # partial_rotary_factor 0.25: a quarter of each head rotates
        section = [rotary_half - 2 * (rotary_half // 3), rotary_half // 3, rotary_half // 3]
        return dict(vocab_size=len(tok), hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=layers,
                    num_attention_heads=heads, num_key_value_heads=heads, head_dim=head_dim,
                    max_position_embeddings=4096, tie_word_embeddings=True,
                    layer_types=["full_attention" if (i + 1) % 4 == 0 or i == layers - 1 else "linear_attention"
                                 for i in range(layers)],
                    linear_conv_kernel_dim=4, linear_key_head_dim=head_dim, linear_value_head_dim=head_dim,
                    linear_num_key_heads=heads, linear_num_value_heads=heads,
                    rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": section,
                                     "mrope_interleaved": True, "partial_rotary_factor": 0.25},
                    bos_token_id=tok.convert_tokens_to_ids("<|endoftext|>"),
                    eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"),
                    pad_token_id=tok.convert_tokens_to_ids("<|endoftext|>"), **extra)

    def vision_config(self, hidden: int, vision_width: int, vision_depth: int) -> dict:
        vision = super().vision_config(hidden, vision_width, vision_depth)
        vision.pop("deepstack_visual_indexes")
        return vision

    def tiny_config(self, tok, hidden: int, layers: int, heads: int, vision_width: int, vision_depth: int):
        from transformers import Qwen3_5Config

        return Qwen3_5Config(text_config=self.text_config(tok, hidden, layers, heads),
                             vision_config=self.vision_config(hidden, vision_width, vision_depth),
                             tie_word_embeddings=True, **self.special_ids(tok))


class Qwen3_5Moe(Qwen3_5):
    name = "qwen3_5_moe"
    model_types = ("qwen3_5_moe",)
    fsdp_wrap = ("Qwen3_5MoeDecoderLayer", "Qwen3_5MoeVisionBlock")

    def tiny_config(self, tok, hidden: int, layers: int, heads: int, vision_width: int, vision_depth: int):
        from transformers import Qwen3_5MoeConfig

        text = self.text_config(tok, hidden, layers, heads, num_experts=4, num_experts_per_tok=2,
                                moe_intermediate_size=hidden, shared_expert_intermediate_size=hidden)
        return Qwen3_5MoeConfig(text_config=text, vision_config=self.vision_config(hidden, vision_width, vision_depth),
                                tie_word_embeddings=True, **self.special_ids(tok))
