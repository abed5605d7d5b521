"""Qwen2-VL (transformers `qwen2_vl`).

Boxes: a 0..1000 grid relative to the image, `<|box_start|>(x1,y1),(x2,y2)<|box_end|>`
(Qwen2-VL paper, arXiv 2409.12191, section 2.2 "Visual grounding": coordinates
normalised to [0, 1000)).
"""

from __future__ import annotations

from .qwen import QwenVL


class Qwen2VL(QwenVL):
    name = "qwen2_vl"
    model_types = ("qwen2_vl",)
    box_convention = "grid1000"
    box_source = "Qwen2-VL paper (arXiv 2409.12191) sec. 2.2: boxes normalised to [0, 1000)"
    fsdp_wrap = ("Qwen2VLDecoderLayer", "Qwen2VLVisionBlock")

    def format_box(self, box: list[float]) -> str:
        x1, y1, x2, y2 = (f"{v:g}" for v in box)
        return f"<|box_start|>({x1},{y1}),({x2},{y2})<|box_end|>"

    def tiny_config(self, tok, hidden: int, layers: int, heads: int, vision_width: int, vision_depth: int):
        from transformers import Qwen2VLConfig

        vision = dict(depth=vision_depth, embed_dim=vision_width, hidden_size=hidden,  # merger -> text width
                      num_heads=2, mlp_ratio=2, patch_size=14, spatial_merge_size=2, temporal_patch_size=2)
        return Qwen2VLConfig(text_config=self.text_config(tok, hidden, layers, heads), vision_config=vision,
                             tie_word_embeddings=True, **self.special_ids(tok))
