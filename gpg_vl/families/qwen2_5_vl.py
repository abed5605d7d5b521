"""Qwen2.5-VL (transformers `qwen2_5_vl`).

Boxes: absolute pixels of the RESIZED input image, `{"bbox_2d": [x1, y1, x2, y2]}`
(Qwen2.5-VL technical report, arXiv 2502.13923, sec. 2.2.1: "we use absolute coordinates
based on the actual size of the input image"; the input is the smart-resized image).
"""

from __future__ import annotations

from .qwen import QwenVL


class Qwen2_5VL(QwenVL):
    name = "qwen2_5_vl"
    model_types = ("qwen2_5_vl",)
    box_convention = "input_pixels"
    box_source = "Qwen2.5-VL report (arXiv 2502.13923) sec. 2.2.1: absolute pixels of the resized input"
    fsdp_wrap = ("Qwen2_5_VLDecoderLayer", "Qwen2_5_VLVisionBlock")

    def tiny_config(self, tok, hidden: int, layers: int, heads: int, vision_width: int, vision_depth: int):
        from transformers import Qwen2_5_VLConfig

        vision = dict(depth=vision_depth, hidden_size=vision_width, out_hidden_size=hidden,
                      intermediate_size=vision_width * 2, num_heads=2, patch_size=14, spatial_merge_size=2,
                      temporal_patch_size=2, window_size=112, fullatt_block_indexes=[vision_depth - 1])
        return Qwen2_5_VLConfig(text_config=self.text_config(tok, hidden, layers, heads), vision_config=vision,
                                tie_word_embeddings=True, **self.special_ids(tok))
