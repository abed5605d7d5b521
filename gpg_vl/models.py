"""Load a policy and its processor: one code path for hub ids, local checkpoints and the
tiny offline model (which `gpg_vl.tiny` saves with `save_pretrained`)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from .config import ModelConfig

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
FAMILIES = {"qwen2_vl": "qwen2_vl", "qwen2_5_vl": "qwen2_5_vl"}


def load_policy(cfg: ModelConfig, vision=None):
    """(model, processor) from `cfg.path` via transformers' auto classes."""
    processor = load_processor(cfg, vision)
    return load_model(cfg), processor


def load_processor(cfg: ModelConfig, vision=None):
    """The processor alone: enough to check every prompt's length before weights load."""
    from transformers import AutoProcessor

    if cfg.build_tiny and not Path(cfg.path).exists():
        from .tiny import build_tiny_model

        log.info("building the tiny offline %s model at %s", cfg.build_tiny, cfg.path)
        build_tiny_model(cfg.path, cfg.build_tiny)
    kwargs = {"size": {"shortest_edge": vision.min_pixels, "longest_edge": vision.max_pixels}} if vision else {}
    processor = AutoProcessor.from_pretrained(cfg.path, **kwargs)
    processor.tokenizer.padding_side = "left"
    return processor


def load_model(cfg: ModelConfig, path: str | Path | None = None, dtype: str | None = None):
    """The model at `path` (default cfg.path) with parameters in `dtype` (default cfg.dtype).

    The trainer loads its policy in float32 (master weights; model.dtype is the autocast
    compute precision) and a frozen KL reference in model.dtype.
    """
    from transformers import AutoModelForImageTextToText

    dtype = dtype or cfg.dtype
    if dtype not in DTYPES:
        raise ValueError(f"model.dtype {dtype!r} unknown; valid: {', '.join(DTYPES)}")
    model = AutoModelForImageTextToText.from_pretrained(
        str(path or cfg.path), dtype=DTYPES[dtype], attn_implementation=cfg.attn_implementation)
    if cfg.gradient_checkpointing:
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.x name
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
    return model


def model_family(model) -> str:
    """Box-convention family from the model config: qwen2_vl | qwen2_5_vl | generic."""
    return FAMILIES.get(getattr(model.config, "model_type", ""), "generic")


def text_config(model):
    return getattr(model.config, "text_config", model.config)


def eos_token_ids(model, tokenizer) -> list[int]:
    eos = model.generation_config.eos_token_id
    ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    ids.add(tokenizer.convert_tokens_to_ids("<|im_end|>") if "<|im_end|>" in tokenizer.get_vocab()
            else tokenizer.eos_token_id)
    return sorted(i for i in ids if i is not None)


def pad_token_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
