"""Trainable parameters and AdamW state under LoRA vs full training, counted, not timed.

    python bench/lora_params.py            # writes bench/results/lora_params.md

Models: the demo's tiny Qwen2-VL (r=8, as `--preset demo lora.r=8`), and Qwen2.5-VL-7B and
Qwen3-VL-8B at r=64, built on the `meta` device (no weights, no hub) from configs written
by hand from their published sizes (config.json of Qwen/Qwen2.5-VL-7B-Instruct and
Qwen/Qwen3-VL-8B-Instruct). The adapted layers are the ones the trainer picks
(`gpg_vl.lora.target_names`: the family's `lora_targets` in the language model, vision
frozen), and each Linear(in, out) gets r * (in + out) adapter parameters. For the tiny model
the count is checked against peft's own (`apply_lora` on the real checkpoint).

Bytes per trained parameter: AdamW's two float32 moments (8) = "optimizer state"; with the
float32 master weight and its gradient, 16. Full training holds all of them for every
parameter; LoRA for the adapters only, the frozen base being 2 bytes (bf16) per parameter.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QWEN2_5_VL_7B = dict(
    model_type="qwen2_5_vl", tie_word_embeddings=False,
    text_config=dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                     num_key_value_heads=4, vocab_size=152064, max_position_embeddings=128000,
                     rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [16, 24, 24]}),
    vision_config=dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, out_hidden_size=3584,
                       patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=112,
                       fullatt_block_indexes=[7, 15, 23, 31]))
QWEN3_VL_8B = dict(
    model_type="qwen3_vl", tie_word_embeddings=False,
    text_config=dict(hidden_size=4096, intermediate_size=12288, num_hidden_layers=36, num_attention_heads=32,
                     num_key_value_heads=8, head_dim=128, vocab_size=151936, max_position_embeddings=262144,
                     rope_parameters={"rope_type": "default", "rope_theta": 5e6, "mrope_section": [24, 20, 20],
                                      "mrope_interleaved": True}),
    vision_config=dict(depth=27, hidden_size=1152, intermediate_size=4304, num_heads=16, out_hidden_size=4096,
                       patch_size=16, spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=2304,
                       deepstack_visual_indexes=[8, 16, 24]))


def meta_model(spec: dict):
    from transformers import AutoConfig, AutoModelForImageTextToText

    spec = dict(spec)
    config = AutoConfig.for_model(spec.pop("model_type"), **spec)
    with torch.device("meta"):
        return AutoModelForImageTextToText.from_config(config)


def count(model, r: int) -> dict:
    from gpg_vl.config import LoraConfig
    from gpg_vl.families import family_of
    from gpg_vl.lora import target_names

    modules = dict(model.named_modules())
    names = target_names(model, family_of(model), LoraConfig(r=r))
    adapters = sum(r * (modules[n].in_features + modules[n].out_features) for n in names)
    total = sum(p.numel() for p in model.parameters())
    return {"layers": len(names), "total": total, "trainable": adapters}


def tiny_check(r: int = 8) -> dict:
    """The demo model, counted both ways: the formula and peft's own adapters."""
    from gpg_vl.config import LoraConfig, ModelConfig
    from gpg_vl.lora import apply_lora, parameter_counts
    from gpg_vl.models import load_model
    from gpg_vl.tiny import build_tiny_model

    path = build_tiny_model(ROOT / "runs" / "tiny-qwen2-vl", "qwen2_vl")
    model = load_model(ModelConfig(path=str(path)))
    counted = count(model, r)
    peft_counts = parameter_counts(apply_lora(model, LoraConfig(r=r), str(path)))
    assert peft_counts["trainable"] == counted["trainable"], (peft_counts, counted)
    return counted


def gib(n: float) -> str:
    return f"{n / 2 ** 30:.2f} GiB" if n >= 2 ** 30 else f"{n / 2 ** 20:.2f} MiB" if n >= 2 ** 20 else f"{n / 2 ** 10:.1f} KiB"


def main() -> None:
    rows = [("tiny Qwen2-VL (demo)", 8, tiny_check(8)),
            ("Qwen2.5-VL-7B", 64, count(meta_model(QWEN2_5_VL_7B), 64)),
            ("Qwen3-VL-8B", 64, count(meta_model(QWEN3_VL_8B), 64))]
    lines = ["| model | r | adapted layers | parameters | trainable (LoRA) | share | AdamW state, LoRA | "
             "AdamW state, full | fp32 master + grad + AdamW, LoRA | ... full |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, r, c in rows:
        lines.append(f"| {name} | {r} | {c['layers']} | {c['total']:,} | {c['trainable']:,} | "
                     f"{100 * c['trainable'] / c['total']:.2f}% | {gib(8 * c['trainable'])} | {gib(8 * c['total'])} | "
                     f"{gib(16 * c['trainable'])} | {gib(16 * c['total'])} |")
    text = "\n".join(lines)
    print(text)
    out = ROOT / "bench" / "results" / "lora_params.md"
    out.write_text("# LoRA: trainable parameters and optimizer state (python bench/lora_params.py)\n\n"
                   "Adapters on the language model's attention + MLP projections (the family default), vision "
                   "frozen; 8 bytes of AdamW state per trained parameter, 16 with the fp32 master and gradient. "
                   "The tiny model's count equals peft's own; the 7B/8B models are built on the meta device "
                   "from hand-written configs of their published sizes.\n\n" + text + "\n")


if __name__ == "__main__":
    main()
