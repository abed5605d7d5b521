"""Policy + engine for one checkpoint, built by the trainer's own factory (gpg_vl.rollout.build_engine).

The engine is looked up by name in gpg_vl.rollout.ENGINES and imported only then, so
`import eval` never imports vLLM. `--engine vllm` is checked before any model loads and
fails with a message saying what is missing. Sampling settings (each benchmark's length
cap, greedy or not) are passed to each generate call, never set on the engine.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from gpg_vl.rollout import ENGINES

from .registry import EvalError


@dataclass
class Policy:
    """A loaded checkpoint: its engine, processor, model family and box-convention family."""

    path: str
    engine: object
    processor: object
    family: str  # the box convention's (--model-family, or the model's own)
    adapter: object  # gpg_vl.families.Family of the model: how its prompts are collated

    def close(self) -> None:
        self.engine.close()


def check_engine(name: str) -> type:
    """The engine class for `name`, or an EvalError naming what is missing."""
    from gpg_vl.rollout import engine_class

    if name not in ENGINES:
        raise EvalError(f"unknown engine {name!r}; valid: {', '.join(sorted(ENGINES))}")
    if name == "vllm" and importlib.util.find_spec("vllm") is None:
        raise EvalError("--engine vllm needs the vllm package (pip install -e .[gpu], on a GPU machine); "
                        "use --engine hf")
    try:
        return engine_class(name)
    except (ImportError, AttributeError) as exc:
        raise EvalError(f"engine {name!r} ({ENGINES[name]}) is unavailable in this installation: {exc}; "
                        f"use --engine hf") from exc


LOADER_KEYS = {"suppress_ids", "eos_token_ids", "pad_token_id"}
"""What `load` gives every engine (sampling settings are refused by check_engine_args itself)."""


def engine_args(name: str, items: list[str]) -> dict:
    """`--engine-arg KEY=VALUE` items as checked engine options (values parsed as YAML)."""
    import yaml

    from gpg_vl.config import ConfigError
    from gpg_vl.rollout import SAMPLING_KEYS, check_engine_args

    cls = check_engine(name)
    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise EvalError(f"--engine-arg {item!r} is not KEY=VALUE")
        out[key.strip()] = yaml.safe_load(raw)
    sampling = sorted(out.keys() & SAMPLING_KEYS)
    if sampling:
        raise EvalError(f"--engine-arg {sampling[0]}: a sampling setting, given to each generate call, not to the "
                        "engine; use --max-new-tokens or --temperature (0 = greedy)")
    try:
        check_engine_args(cls, out, LOADER_KEYS)
    except ConfigError as exc:
        raise EvalError(str(exc).replace("rollout.engine_args.", "--engine-arg ")) from exc
    return out


def check_model(path: str) -> None:
    """`--model` names a full checkpoint, a LoRA one (adapter_config.json + its base) or a hub id."""
    from gpg_vl.config import ConfigError
    from gpg_vl.models import check_model_source

    try:
        check_model_source(path, key="--model")
    except ConfigError as exc:
        raise EvalError(str(exc)) from None


def resolve_dtype(dtype: str) -> str:
    """"auto": bfloat16 on a GPU (what checkpoints are trained in), float32 on a CPU."""
    if dtype != "auto":
        return dtype
    import torch

    return "bfloat16" if torch.cuda.is_available() else "float32"


def load(path: str, engine: str, vision, *, dtype: str = "float32", attn: str = "sdpa", family: str = "auto",
         engine_args: dict | None = None) -> Policy:
    """Load `path` with gpg_vl.models.load_policy and wrap it in the named engine.

    A LoRA checkpoint loads as its base with the adapters merged in; an engine that loads the
    base from disk itself (vLLM) then receives the merged weights."""
    from gpg_vl.config import ModelConfig
    from gpg_vl.families import family_of
    from gpg_vl.models import load_policy
    from gpg_vl.rollout import build_engine, policy_tokens

    check_engine(engine)
    model, processor = load_policy(ModelConfig(path=path, dtype=dtype, attn_implementation=attn), vision)
    if engine == "hf":
        import torch
        if torch.cuda.is_available():
            model = model.to("cuda")
    built = build_engine(engine, model, processor, engine_args, **policy_tokens(model, processor))
    from gpg_vl.lora import is_adapter_checkpoint

    if is_adapter_checkpoint(path):
        built.load_weights(model)
    adapter = family_of(model)
    return Policy(path, built, processor, adapter.name if family == "auto" else family, adapter)
