"""Tiny offline checkpoints of every model family, built locally (no hub needed).

`build_tiny_model(out_dir, family=...)` trains a byte-level BPE tokenizer on a small
local corpus with the family's special tokens and chat template, pairs it with the
family's real processor, initialises a randomly weighted model of the real architecture
(the family adapter's `tiny_config`) and saves everything with `save_pretrained`. The demo and the tests then load it through
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

from . import families

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


def build_tokenizer(family=None, vocab_size: int = 768):
    """Byte-level BPE (Qwen2's scheme) trained on the local corpus, with the family's special
    tokens and chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    family = family or families.get("qwen2_vl")
    specials = list(family.tiny_specials)
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(_corpus(), trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=family.tiny_eos, pad_token=family.tiny_pad,
                                   padding_side="left", additional_special_tokens=specials[1:],
                                   **family.tiny_tokenizer_kwargs())
    fast.add_tokens(list(family.tiny_added))
    fast.chat_template = family.tiny_template
    split = [w for w in _WORDS if len(fast.tokenize(w)) != 1]
    if split:  # the demo relies on single-token answers; fail here, not in a flat reward curve
        raise RuntimeError(f"tiny tokenizer splits {split}; raise vocab_size")
    return fast


SIZES = dict(hidden=64, layers=2, heads=4, vision_width=32, vision_depth=1)


def build_tiny_model(out_dir: str | Path, family: str = "qwen2_vl", seed: int = 0,
                     min_pixels: int = 3136, max_pixels: int = 401408, **sizes) -> Path:
    """Build, save and return the path of a tiny random checkpoint (idempotent)."""
    import torch
    from transformers import AutoModelForImageTextToText

    adapter = families.get(family)
    out = Path(out_dir)
    stamp = out / "gpg_vl_tiny.json"
    spec = {"family": family, "seed": seed, **sizes}
    if stamp.exists() and json.loads(stamp.read_text()) == spec:
        return out
    out.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(adapter)
    config = adapter.tiny_config(tok, **{**SIZES, **sizes})
    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_config(config, dtype=torch.float32)
    adapter.tiny_init(model)
    processor = adapter.tiny_processor(tok, min_pixels, max_pixels)
    text = getattr(config, "text_config", config)
    model.generation_config.eos_token_id = text.eos_token_id
    model.generation_config.pad_token_id = text.pad_token_id
    model.save_pretrained(out)
    processor.save_pretrained(out)
    stamp.write_text(json.dumps(spec))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--family", default="qwen2_vl", choices=list(families.FAMILIES))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(build_tiny_model(args.out, args.family, args.seed))


if __name__ == "__main__":
    main()
