"""Load a policy and its processor: one code path for hub ids, local checkpoints and the
tiny offline model (which `gpg_vl.tiny` saves with `save_pretrained`).

`check_model_source` runs before any data or weights load: a missing folder, a folder that
is not a checkpoint, a text-only model, or a hub id that cannot be reached each fail in
seconds naming `model.path` (transformers would otherwise end in a traceback, or retry
an unreachable hub for minutes).
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import torch

from . import families
from .config import ConfigError, LoraConfig, ModelConfig
from .lora import ADAPTER_CONFIG, ADAPTER_WEIGHTS, adapter_base, is_adapter_checkpoint

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
ATTENTION = {"sdpa": None, "eager": None, "flash_attention_2": "flash_attn"}  # -> package it needs
HUB_TIMEOUT_S = 5.0
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def check_model_config(cfg: ModelConfig) -> None:
    """Every model.* value, and the checkpoint it names, usable; ConfigError naming the key."""
    import importlib.util

    if cfg.dtype not in DTYPES:
        raise ConfigError(f"model.dtype={cfg.dtype!r} unknown; valid: {', '.join(DTYPES)}")
    if cfg.attn_implementation not in ATTENTION:
        raise ConfigError(f"model.attn_implementation={cfg.attn_implementation!r} unknown; "
                          f"valid: {', '.join(ATTENTION)}")
    needs = ATTENTION[cfg.attn_implementation]
    if needs and importlib.util.find_spec(needs) is None:
        raise ConfigError(f"model.attn_implementation={cfg.attn_implementation} needs the {needs} package "
                          "(pip install -e '.[gpu]' on a GPU machine); or use sdpa")
    if cfg.build_tiny and cfg.build_tiny not in families.FAMILIES:
        raise ConfigError(f"model.build_tiny={cfg.build_tiny!r} unknown; valid: {', '.join(families.FAMILIES)} "
                          "(or '' for a real checkpoint)")
    check_model_source(cfg.path, can_build=bool(cfg.build_tiny))


def check_model_source(path: str, can_build: bool = False, key: str = "model.path") -> None:
    """`path` is a checkpoint folder, or a hub id that is cached or reachable."""
    if not str(path).strip():
        raise ConfigError(f"{key} is empty: give a local checkpoint folder or a hub id (org/name)")
    local = Path(path).expanduser()
    if local.exists():
        _check_checkpoint(local, key)
    elif can_build:
        return  # model.build_tiny builds it there on first use
    elif str(path).startswith(("/", ".", "~")) or "\\" in str(path) or str(path).count("/") > 1 \
            or not _HUB_ID.match(str(path)):
        raise ConfigError(f"{key}={path}: no such folder (from {Path.cwd()}); give the folder of a local "
                          "checkpoint, or a hub id such as Qwen/Qwen2-VL-2B-Instruct")
    else:
        _check_hub(str(path), key)


def _check_checkpoint(folder: Path, key: str) -> None:
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    if not folder.is_dir():
        raise ConfigError(f"{key}={folder}: is a file; give the checkpoint's folder (holding config.json)")
    if is_adapter_checkpoint(folder):
        return _check_adapters(folder, key)
    config = folder / "config.json"
    if not config.is_file():
        found = ", ".join(sorted(p.name for p in folder.iterdir())[:8]) or "nothing"
        raise ConfigError(f"{key}={folder}: no config.json, so not a Hugging Face checkpoint (found: {found}); "
                          "for a run folder give its checkpoint-N sub-folder")
    try:
        model_type = json.loads(config.read_text()).get("model_type", "")
    except (OSError, ValueError, AttributeError) as err:
        raise ConfigError(f"{key}={folder}: unreadable config.json ({err})") from None
    if model_type not in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES:
        raise ConfigError(f"{key}={folder}: model_type {model_type!r} is not an image-text-to-text model "
                          "(a vision-language checkpoint such as Qwen2-VL / Qwen2.5-VL is needed)")
    try:
        families.for_model_type(model_type)
    except families.UnknownFamily as err:
        raise ConfigError(f"{key}={folder}: {err}") from None
    if not any(folder.glob("*.safetensors")) and not any(folder.glob("*.bin")):
        raise ConfigError(f"{key}={folder}: config.json but no weights (*.safetensors / *.bin): "
                          "an unfinished download or save?")
    if not any((folder / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json")):
        raise ConfigError(f"{key}={folder}: no tokenizer files: save it with processor.save_pretrained(folder)")
    if not any((folder / f).is_file() for f in ("preprocessor_config.json", "processor_config.json")):
        raise ConfigError(f"{key}={folder}: no preprocessor_config.json / processor_config.json: the "
                          "checkpoint was saved without its processor (processor.save_pretrained(folder))")


def _check_adapters(folder: Path, key: str) -> None:
    """A LoRA checkpoint: its adapter weights, and the base model it names, usable."""
    if not (folder / ADAPTER_WEIGHTS).is_file():
        raise ConfigError(f"{key}={folder}: {ADAPTER_CONFIG} but no {ADAPTER_WEIGHTS}: an unfinished save?")
    try:
        base = adapter_base(folder)
    except ConfigError as err:
        raise ConfigError(f"{key}={err}") from None
    try:
        check_model_source(base, key=f"{key}={folder}: its base model ({ADAPTER_CONFIG})")
    except ConfigError as err:
        raise ConfigError(f"{err}; an adapter checkpoint needs the base model it was trained on") from None


def _check_hub(repo: str, key: str) -> None:
    """Cached (and offline) or reachable in HUB_TIMEOUT_S; otherwise say what to set."""
    from huggingface_hub import HfApi, constants, try_to_load_from_cache
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    cached = isinstance(try_to_load_from_cache(repo, "config.json"), str)
    if constants.HF_HUB_OFFLINE:
        if cached:
            return
        raise ConfigError(f"{key}={repo}: not in the local Hugging Face cache ({constants.HF_HUB_CACHE}) and "
                          "HF_HUB_OFFLINE is set; download it where there is network "
                          f"(hf download {repo}) or set {key} to a local folder")
    try:
        HfApi().model_info(repo, timeout=HUB_TIMEOUT_S)
    except GatedRepoError:
        raise ConfigError(f"{key}={repo}: a gated repository; accept its terms on the Hub and log in "
                          "(hf auth login), or set a local folder") from None
    except RepositoryNotFoundError:
        raise ConfigError(f"{key}={repo}: no such model on the Hub (nor a local folder of that name "
                          f"in {Path.cwd()})") from None
    except Exception as err:  # network errors come from httpx / requests, by version
        offline = "set HF_HUB_OFFLINE=1 to use the cached copy" if cached else \
            "set it to a local folder, or download it and set HF_HUB_OFFLINE=1"
        raise ConfigError(f"{key}={repo}: not a local folder, and the Hub "
                          f"({os.environ.get('HF_ENDPOINT', constants.ENDPOINT)}) cannot be reached "
                          f"({type(err).__name__}: {err}); {offline}") from None


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
    family = families.family_at(cfg.path)
    kwargs = family.processor_kwargs(vision.min_pixels, vision.max_pixels) if vision else {}
    processor = AutoProcessor.from_pretrained(processor_source(cfg.path), **kwargs)
    processor.tokenizer.padding_side = "left"
    return processor


def processor_source(path: str | Path) -> str:
    """Where the processor loads from: the folder, or an adapter checkpoint's base when it holds none."""
    if is_adapter_checkpoint(path) and not (Path(path) / "tokenizer_config.json").is_file():
        return adapter_base(path)
    return str(path)


def training_model(cfg: ModelConfig, lora: LoraConfig, resume_from: Path | None = None):
    """The policy the trainer updates. Full training: every parameter a float32 master weight
    (model.dtype is the autocast compute precision), from resume_from when resuming. LoRA
    (lora.r > 0): the base from cfg.path, frozen in model.dtype, with float32 adapters, which
    a resume takes from resume_from's adapter_model.safetensors."""
    if not lora.r:
        return load_model(cfg, path=resume_from, dtype="float32")
    from .lora import apply_lora, load_adapters

    model = apply_lora(load_model(cfg), lora, cfg.path)
    if resume_from is not None:
        load_adapters(model, resume_from)
    return model


def load_model(cfg: ModelConfig, path: str | Path | None = None, dtype: str | None = None):
    """The model at `path` (default cfg.path) with parameters in `dtype` (default cfg.dtype).

    The trainer loads its policy in float32 (master weights; model.dtype is the autocast
    compute precision) and a frozen KL reference in model.dtype. An adapter checkpoint
    (adapter_config.json) loads as its base model with the adapters merged in.
    """
    from transformers import AutoModelForImageTextToText

    dtype = dtype or cfg.dtype
    if dtype not in DTYPES:
        raise ConfigError(f"model.dtype={dtype!r} unknown; valid: {', '.join(DTYPES)}")
    if is_adapter_checkpoint(path or cfg.path):
        return _load_merged(cfg, Path(path or cfg.path), dtype)
    log.info("loading weights from %s (%s)", path or cfg.path, dtype)
    model = AutoModelForImageTextToText.from_pretrained(
        str(path or cfg.path), dtype=DTYPES[dtype], attn_implementation=cfg.attn_implementation)
    if cfg.gradient_checkpointing:
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.x name
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
    return model


def _load_merged(cfg: ModelConfig, folder: Path, dtype: str):
    """An adapter checkpoint's base, its adapters merged in (W + scaling * B @ A): a plain model."""
    from peft import PeftModel

    base = load_model(cfg, path=adapter_base(folder), dtype=dtype)
    log.info("merging the LoRA adapters of %s", folder)
    return PeftModel.from_pretrained(base, str(folder)).merge_and_unload()  # config names the base's folder


def text_config(model):
    return getattr(model.config, "text_config", model.config)


def eos_token_ids(model, tokenizer) -> list[int]:
    eos = model.generation_config.eos_token_id
    ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    turn = families.family_of(model).end_of_turn  # a base checkpoint's eos may be <|endoftext|>
    ids.add(tokenizer.convert_tokens_to_ids(turn) if turn in tokenizer.get_vocab() else tokenizer.eos_token_id)
    return sorted(i for i in ids if i is not None)


def pad_token_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
