"""Model families: one adapter per family, found by the checkpoint's `model_type`.

    family = family_of(model)            # from a loaded model (or its config)
    family = family_at("runs/tiny")      # from a checkpoint folder's config.json, before weights load

A family not listed here is added with one file (docs/model_families.md) and
`register(MyFamily())`; an unknown model_type fails naming the known ones.
"""

from __future__ import annotations

import json
from pathlib import Path

from .base import Family, bare
from .gemma3 import Gemma3
from .qwen2_5_vl import Qwen2_5VL
from .qwen2_vl import Qwen2VL
from .qwen3_5 import Qwen3_5, Qwen3_5Moe
from .qwen3_vl import Qwen3VL, Qwen3VLMoe
from .smolvlm import SmolVLM

FAMILIES: dict[str, Family] = {}
_BY_MODEL_TYPE: dict[str, Family] = {}


class UnknownFamily(ValueError):
    pass


def register(family: Family) -> Family:
    if family.name in FAMILIES:
        raise ValueError(f"model family {family.name!r} is already registered")
    FAMILIES[family.name] = family
    for model_type in family.model_types:
        _BY_MODEL_TYPE[model_type] = family
    return family


for _family in (Qwen2VL(), Qwen2_5VL(), Qwen3VL(), Qwen3VLMoe(), Qwen3_5(), Qwen3_5Moe(), SmolVLM(), Gemma3()):
    register(_family)


def get(name: str) -> Family:
    if name not in FAMILIES:
        raise UnknownFamily(f"unknown model family {name!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def for_model_type(model_type: str) -> Family:
    if model_type not in _BY_MODEL_TYPE:
        raise UnknownFamily(f"model_type {model_type!r} has no family adapter in gpg_vl (known: "
                            f"{', '.join(_BY_MODEL_TYPE)}); docs/model_families.md says how to add one")
    return _BY_MODEL_TYPE[model_type]


def family_of(model) -> Family:
    """The family of a model (DDP / DeepSpeed wrappers unwrapped) or of a model config."""
    config = getattr(bare(model), "config", model)
    return for_model_type(getattr(config, "model_type", ""))


def family_at(path: str | Path) -> Family:
    """The family of the checkpoint folder at `path` (its config.json), weights unread; an
    adapter checkpoint (adapter_config.json) is its base model's family."""
    adapter = Path(path) / "adapter_config.json"
    if adapter.is_file():
        return family_at(json.loads(adapter.read_text())["base_model_name_or_path"])
    return for_model_type(json.loads((Path(path) / "config.json").read_text()).get("model_type", ""))


__all__ = ["FAMILIES", "Family", "bare", "UnknownFamily", "family_at", "family_of", "for_model_type", "get", "register"]
