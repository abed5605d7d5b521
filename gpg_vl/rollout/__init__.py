"""Rollout engines behind one small protocol, imported lazily by name.

    engine.generate(prompts: PromptBatch, n: int, sampling: Sampling) -> RolloutBatch
    engine.load_weights(model)   # after every optimizer step
    engine.close()
    engine.collective   # optional: True when every process must call generate in step
                        # (sharded weights, tensor parallelism); the probe and eval then
                        # run on all processes, the main one reporting

`hf` (transformers generate) runs anywhere; `vllm` (GPU) is imported only when chosen,
so `import gpg_vl` never imports vLLM. Register another with `ENGINES[name] = "module:Class"`.

An engine is built once per policy, with what is fixed for it (`policy_tokens`: suppressed,
EOS and pad ids; batch_rows) and its own options: vLLM's tensor_parallel_size,
gpu_memory_utilization, ... come from `rollout.engine_args` and are checked against the
engine's keyword arguments before anything loads. How to decode (`Sampling`: length cap,
temperature, top-p/k, greedy) is an argument of each generate call, never engine state.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Protocol

from ..config import ConfigError
from .batch import RolloutBatch
from .sampling import SAMPLING_KEYS, Sampling

ENGINES: dict[str, str] = {
    "hf": "gpg_vl.rollout.hf:HFEngine",
    "vllm": "gpg_vl.rollout.vllm:VLLMEngine",
}


class RolloutEngine(Protocol):
    def generate(self, prompts, n: int, sampling: Sampling) -> RolloutBatch: ...
    def load_weights(self, model) -> None: ...
    def close(self) -> None: ...


def engine_class(name: str) -> type:
    if name not in ENGINES:
        raise ConfigError(f"unknown rollout engine {name!r}; valid: {', '.join(sorted(ENGINES))}")
    module, cls = ENGINES[name].split(":")
    return getattr(importlib.import_module(module), cls)


def check_engine_args(cls: type, engine_args: dict, common: set[str] = frozenset()) -> None:
    """Fail naming the key when an engine option is unknown, set by the loop itself (`common`),
    or a sampling setting (those are passed to each generate call)."""
    params = inspect.signature(cls.__init__).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    options = sorted(k for k, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY or
                     (p.default is not inspect.Parameter.empty and k != "self"))
    for key in engine_args:
        if key in SAMPLING_KEYS:
            raise ConfigError(f"rollout.engine_args.{key}: a sampling setting, which the run passes to each "
                             f"generate call (use rollout.{key} or the command line instead)")
        if key in common:
            raise ConfigError(f"rollout.engine_args.{key}: set by the run itself (use rollout.* or the "
                             f"command line instead)")
        if key not in params and not takes_any:
            raise ConfigError(f"rollout.engine_args.{key}: {cls.__name__} takes no such option; "
                             f"valid: {', '.join(k for k in options if k not in common)}")


def build_engine(name: str, model, processor, engine_args: dict | None = None, defaults: dict | None = None,
                 **common) -> RolloutEngine:
    """The named engine for this policy: `common` from the loop, `engine_args` from the user.

    `defaults` (e.g. the run's seed) go to engines that take them, unless the user set them.
    """
    cls = engine_class(name)
    engine_args = dict(engine_args or {})
    check_engine_args(cls, engine_args, set(common))
    takes = inspect.signature(cls.__init__).parameters
    extra = {k: v for k, v in (defaults or {}).items() if k in takes and k not in engine_args}
    return cls(model, processor, **common, **extra, **engine_args)


def policy_tokens(model, processor, extra_suppress: list = ()) -> dict:
    """The token ids an engine needs for this policy: `suppress_ids` (the family's never-sampled
    tokens, padded vocabulary rows, `extra_suppress`), `eos_token_ids`, `pad_token_id`."""
    from ..models import eos_token_ids, pad_token_id
    from .tokens import suppressed_ids

    return {"suppress_ids": suppressed_ids(model, processor.tokenizer, extra_suppress),
            "eos_token_ids": eos_token_ids(model, processor.tokenizer),
            "pad_token_id": pad_token_id(processor.tokenizer)}


__all__ = ["ENGINES", "RolloutBatch", "RolloutEngine", "SAMPLING_KEYS", "Sampling", "build_engine",
           "check_engine_args", "engine_class", "policy_tokens"]
