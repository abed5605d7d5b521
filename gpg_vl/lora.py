"""LoRA through peft: which layers get adapters, the adapted policy, and its merged weights.

    lora.r=64                      adapters on the family's language-model projections
    lora.train_vision=true         ... and on every Linear layer of the vision tower and merger
    lora.modules_to_save=[lm_head] a module trained in full next to them

With `lora.r > 0` the trainer wraps the policy with `peft.get_peft_model`: the base model
is frozen in model.dtype (the compute precision; bf16 on a GPU), the adapters (and any
modules_to_save) are float32 and are all the optimizer sees, so its state is 8 bytes per
ADAPTER parameter. Three things follow from peft's layout:

- the LoRA layers live inside the transformers model (`families.bare` unwraps the
  PeftModel to it), so the HF engine, the probe and the training forward run the adapted
  model unchanged;
- GRPO's KL reference is the same model with its adapters off (`adapters_off`), not a
  second copy;
- vLLM gets the MERGED weights after every step (`merged_weights`: W + scaling * B @ A per
  adapted layer, under the base model's names), so it serves the adapted policy with no
  LoRA support of its own (vLLM would drop vision-tower adapters; merged, they are kept).

Checkpoints hold the adapters in peft's format (adapter_config.json with the base model's
absolute path + adapter_model.safetensors); `python -m gpg_vl.export` merges them into a
full Hugging Face checkpoint, and `gpg_vl.models.load_model` loads either kind.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from .config import ConfigError, LoraConfig
from .families import Family, bare

log = logging.getLogger(__name__)
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER = "default"  # peft's adapter name


def is_adapter_checkpoint(folder: str | Path) -> bool:
    return (Path(folder) / ADAPTER_CONFIG).is_file()


def adapter_base(folder: str | Path) -> str:
    """The base model an adapter checkpoint was trained on (adapter_config.json)."""
    try:
        base = json.loads((Path(folder) / ADAPTER_CONFIG).read_text()).get("base_model_name_or_path")
    except (OSError, ValueError, AttributeError) as err:
        raise ConfigError(f"{folder}: unreadable {ADAPTER_CONFIG} ({err})") from None
    if not base:
        raise ConfigError(f"{folder}/{ADAPTER_CONFIG} names no base_model_name_or_path")
    return str(base)


def target_names(model, family: Family, cfg: LoraConfig) -> list[str]:
    """Full names of the Linear layers that get adapters: the language model's layers named in
    lora.target_modules (default: the family's `lora_targets`), plus with lora.train_vision
    every Linear layer of the vision tower and merger. Fails naming a target that matches nothing."""
    wanted = tuple(cfg.target_modules) or family.lora_targets
    linear = [n for n, m in bare(model).named_modules() if isinstance(m, torch.nn.Linear)]
    text = [n for n in linear if n.startswith(family.language_model) and n.rsplit(".", 1)[-1] in wanted]
    found = {n.rsplit(".", 1)[-1] for n in text}
    missing = [t for t in wanted if t not in found]
    if missing:
        raise ConfigError(f"lora.target_modules: {missing} match no Linear layer of the {family.name} language model "
                          f"(its Linear layers: {sorted({n.rsplit('.', 1)[-1] for n in linear})})")
    vision = [n for n in linear if n.startswith(family.vision_modules)] if cfg.train_vision else []
    return text + vision


def saved_names(model, cfg: LoraConfig) -> list[str]:
    """Full names of the lora.modules_to_save modules: a name is a module's full name or its
    last dotted part(s) (`norm` is `model.language_model.norm`, never `input_layernorm`, as
    peft's own suffix match would have it). Fails naming an entry that matches nothing."""
    names = [n for n, _ in bare(model).named_modules() if n]
    out = []
    for want in cfg.modules_to_save:
        found = [n for n in names if n == want or n.endswith("." + want)]
        if not found:
            raise ConfigError(f"lora.modules_to_save: {want!r} matches no module of the model")
        out += [n for n in found if n not in out]
    return out


def apply_lora(model, cfg: LoraConfig, base_path: str):
    """The PeftModel around `model` (frozen, in its own dtype) with float32 adapters.

    base_path goes into adapter_config.json: the absolute folder (or hub id) the base loads from.
    """
    import peft

    from .families import family_of

    family = family_of(model)
    saved = saved_names(model, cfg)
    embeddings = {n for n, m in model.named_modules() if m is model.get_input_embeddings()}
    config = peft.LoraConfig(r=cfg.r, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
                             target_modules=target_names(model, family, cfg), modules_to_save=saved or None,
                             # a trained copy of tied embeddings stays tied to lm_head (and vice versa)
                             ensure_weight_tying=bool(embeddings & set(saved)) and tied_embeddings(model))
    wrapped = peft.get_peft_model(model, config)
    # get_peft_model writes the name the base was loaded by (maybe relative to the run's
    # folder): adapter_config.json gets one that resolves from anywhere
    local = Path(base_path).expanduser()
    config.base_model_name_or_path = str(local.resolve()) if local.exists() else base_path
    for p in wrapped.parameters():  # adapters and modules_to_save: float32 whatever the base
        if p.requires_grad:
            p.data = p.data.float()
    counts = parameter_counts(wrapped)
    log.info("LoRA r=%d on %d layers: %d trainable parameters of %d (%.2f%%)", cfg.r,
             len(config.target_modules), counts["trainable"], counts["total"],
             100 * counts["trainable"] / counts["total"])
    return wrapped


def tied_embeddings(model) -> bool:
    out = model.get_output_embeddings()
    return out is not None and out.weight is model.get_input_embeddings().weight


def load_adapters(model, folder: str | Path) -> None:
    """Put the adapter weights saved in `folder` into the PeftModel `model` (resume): every key must land."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    saved = load_file(str(Path(folder) / ADAPTER_WEIGHTS))
    result = set_peft_model_state_dict(model, saved)
    if result.unexpected_keys:
        raise ConfigError(f"ckpt.resume={folder}: its adapters do not fit this run's lora settings "
                          f"(unexpected: {result.unexpected_keys[:3]}); resume with the lora.* it was trained with")
    mine = {k for k in model.state_dict() if "lora_" in k or "modules_to_save" in k}
    if len(saved) != len(mine):
        raise ConfigError(f"ckpt.resume={folder}: holds {len(saved)} adapter tensors, this run's lora settings "
                          f"make {len(mine)}; resume with the lora.* it was trained with")


def save_adapters(model, folder: Path, state_dict: dict) -> None:
    """adapter_config.json + adapter_model.safetensors (float32) of the PeftModel `model`."""
    model.save_pretrained(folder, state_dict=state_dict, save_embedding_layers=False)


@contextmanager
def adapters_off(model):
    """The base model inside: the PeftModel (in any wrapper) with its adapters disabled."""
    peft_model = getattr(model, "module", model)
    with peft_model.disable_adapter():
        yield


def parameter_counts(model) -> dict:
    """Trainable and total parameters, and the AdamW state the trainable ones cost (2 fp32 moments)."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {"trainable": trainable, "total": total, "optimizer_bytes": 8 * trainable}


# --- merged weights for vLLM ---------------------------------------------------------------

def merged_weights(model, named: Iterable[tuple[str, torch.Tensor]]) -> Iterator[tuple[str, torch.Tensor]]:
    """The base model's (name, tensor) stream with every LoRA layer merged: W + scaling * B @ A.

    `named` is the transformers model's parameters (`families.bare`; full tensors, gathered
    where sharded), in module order, so a layer's base weight, A and B arrive together and
    at most one layer is held. peft's names are mapped back to the base model's:
    `x.base_layer.weight` -> `x.weight`, `x.modules_to_save.default.w` -> `x.w` (the frozen
    `x.original_module.w` is dropped). A model with no adapters passes through unchanged.
    """
    modules = dict(bare(model).named_modules())
    held: dict[str, dict[str, torch.Tensor]] = {}
    for name, tensor in named:
        if ".original_module." in name:
            continue
        if f".modules_to_save.{ADAPTER}." in name:
            yield name.replace(f".modules_to_save.{ADAPTER}.", "."), tensor
            continue
        part = _lora_part(name)
        if part is None:
            yield name, tensor
            continue
        layer, kind = part
        if kind == "bias":
            yield f"{layer}.bias", tensor
            continue
        held.setdefault(layer, {})[kind] = tensor
        if len(held[layer]) == 3:
            yield f"{layer}.weight", merge(modules[layer], **held.pop(layer))
    if held:
        raise RuntimeError(f"LoRA layers with missing parts in the weight stream: {sorted(held)}")


def _lora_part(name: str) -> tuple[str, str] | None:
    """(layer, weight | A | B | bias) for a LoRA layer's parameter, None for any other."""
    for suffix, kind in ((".base_layer.weight", "weight"), (".base_layer.bias", "bias"),
                         (f".lora_A.{ADAPTER}.weight", "A"), (f".lora_B.{ADAPTER}.weight", "B")):
        if name.endswith(suffix):
            return name[: -len(suffix)], kind
    return None


def merge(layer, weight: torch.Tensor, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """W + scaling * B @ A in float32: weight [out, in], A [r, in], B [out, r]."""
    delta = (B.float() @ A.float()) * layer.scaling[ADAPTER]  # [out, in]
    if layer.fan_in_fan_out:
        delta = delta.T
    return weight.float() + delta
