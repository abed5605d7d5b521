"""Tiny offline Qwen2-VL / Qwen2.5-VL checkpoints, built locally (no hub needed).

`build_tiny_model(out_dir, family=...)` trains a byte-level BPE tokenizer on a small
local corpus, pairs it with the real Qwen2-VL image processor and chat template,
initialises a randomly weighted model of the real architecture and saves everything
with `save_pretrained`. The demo and the tests then load it through
`gpg_vl.models.load_policy`, the same code path as a real checkpoint.

Facts this builder respects (each one cost a debugging session):
- `mrope_section` sums to head_dim / 2;
- Qwen2-VL's `vision_config.hidden_size` (Qwen2.5-VL: `out_hidden_size`) equals the
  text hidden size, since the merger projects straight into the text embedding space;
- the special-token ids in the config equal the tokenizer's ids;
- answer words used by the demo task are single tokens, so a random policy can hit them.

    python -m gpg_vl.tiny --out runs/tiny-qwen2-vl --family qwen2_vl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SPECIAL_TOKENS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
]

# Qwen2-VL's chat template, trimmed to what images + text need; same token layout, but no
# default system turn (it would be a third of the tiny demo's prompt tokens).
CHAT_TEMPLATE = (
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

# Words the synthetic tasks and common prompts use; each gets its own token.
_WORDS = (
    "red green blue yellow purple orange white black gray cyan magenta brown pink "
    "circle square triangle shape shapes color colour count how many what is the of "
    "answer think image picture box left right top bottom zero one two three four five "
    "six seven eight nine ten yes no please provide bounding coordinate region this "
    "sentence describes output thinking process final in and tags format json number "
    "option choice find x y a an are there which"
).split()


def _corpus() -> list[str]:
    lines = [" ".join(_WORDS)] * 50
    lines += [f"{w} {w.capitalize()} {w}." for w in _WORDS] * 20
    lines += ["What color is the shape? Answer with one word.",
              "How many shapes are there? Answer with a number.",
              "Output the thinking process in <think> </think> and final answer in <answer> </answer> tags.",
              '{"bbox_2d": [12, 34, 56, 78], "label": "circle"}',
              "(12,34),(56,78) [0.5, 1.25] 0123456789 + - * / = ^ \\frac{1}{2} \\sqrt{3}"] * 30
    return lines


def build_tokenizer(vocab_size: int = 768):
    """Byte-level BPE (Qwen2's scheme) trained on the local corpus, as a Qwen2 tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(_corpus(), trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", padding_side="left",
                                   additional_special_tokens=SPECIAL_TOKENS[1:])
    fast.chat_template = CHAT_TEMPLATE
    split = [w for w in _WORDS if len(fast.tokenize(w)) != 1]
    if split:  # the demo relies on single-token answers; fail here, not in a flat reward curve
        raise RuntimeError(f"tiny tokenizer splits {split}; raise vocab_size")
    return fast


def _text_config(tok, hidden: int, layers: int, heads: int) -> dict:
    head_dim = hidden // heads
    half = head_dim // 2
    section = [half - 2 * (half // 3), half // 3, half // 3]  # sums to head_dim / 2
    return dict(vocab_size=len(tok), hidden_size=hidden, intermediate_size=hidden * 2,
                num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                max_position_embeddings=4096, tie_word_embeddings=True,
                rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                 "mrope_section": section},
                bos_token_id=tok.convert_tokens_to_ids("<|endoftext|>"),
                eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"),
                pad_token_id=tok.convert_tokens_to_ids("<|endoftext|>"))


def build_config(tok, family: str, hidden: int = 64, layers: int = 2, heads: int = 4,
                 vision_width: int = 32, vision_depth: int = 1):
    from transformers import Qwen2_5_VLConfig, Qwen2VLConfig

    ids = {k: tok.convert_tokens_to_ids(t) for k, t in [
        ("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
        ("vision_start_token_id", "<|vision_start|>"), ("vision_end_token_id", "<|vision_end|>")]}
    text = _text_config(tok, hidden, layers, heads)
    if family == "qwen2_vl":
        vision = dict(depth=vision_depth, embed_dim=vision_width, hidden_size=hidden,
                      num_heads=2, mlp_ratio=2, patch_size=14, spatial_merge_size=2,
                      temporal_patch_size=2)
        return Qwen2VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=True, **ids)
    if family == "qwen2_5_vl":
        vision = dict(depth=vision_depth, hidden_size=vision_width, out_hidden_size=hidden,
                      intermediate_size=vision_width * 2, num_heads=2, patch_size=14,
                      spatial_merge_size=2, temporal_patch_size=2, window_size=112,
                      fullatt_block_indexes=[vision_depth - 1])
        return Qwen2_5_VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=True, **ids)
    raise ValueError(f"unknown tiny model family {family!r}; choose qwen2_vl or qwen2_5_vl")


def build_tiny_model(out_dir: str | Path, family: str = "qwen2_vl", seed: int = 0,
                     min_pixels: int = 3136, max_pixels: int = 401408, **sizes) -> Path:
    """Build, save and return the path of a tiny random checkpoint (idempotent)."""
    import torch
    from transformers import (AutoModelForImageTextToText, Qwen2VLImageProcessor,
                              Qwen2VLProcessor, Qwen2VLVideoProcessor)

    out = Path(out_dir)
    stamp = out / "gpg_vl_tiny.json"
    spec = {"family": family, "seed": seed, **sizes}
    if stamp.exists() and json.loads(stamp.read_text()) == spec:
        return out
    out.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer()
    config = build_config(tok, family, **sizes)
    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_config(config, dtype=torch.float32)
    image_processor = Qwen2VLImageProcessor(min_pixels=min_pixels, max_pixels=max_pixels)
    processor = Qwen2VLProcessor(image_processor=image_processor, tokenizer=tok,
                                 video_processor=Qwen2VLVideoProcessor(),
                                 chat_template=CHAT_TEMPLATE)
    model.generation_config.eos_token_id = config.text_config.eos_token_id
    model.generation_config.pad_token_id = config.text_config.pad_token_id
    model.save_pretrained(out)
    processor.save_pretrained(out)
    stamp.write_text(json.dumps(spec))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--family", default="qwen2_vl", choices=["qwen2_vl", "qwen2_5_vl"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(build_tiny_model(args.out, args.family, args.seed))


if __name__ == "__main__":
    main()
