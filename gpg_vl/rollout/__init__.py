"""Rollout engines behind one small protocol, imported lazily by name.

    engine.generate(prompts: PromptBatch, n: int, greedy: bool = False) -> RolloutBatch
    engine.load_weights(model)   # after every optimizer step
    engine.close()
    engine.collective   # optional: True when every process must call generate in step
                        # (sharded weights, tensor parallelism); the probe and eval then
                        # run on all processes, the main one reporting

`hf` (transformers generate) runs anywhere; `vllm` (GPU) is imported only when chosen,
so `import gpg_vl` never imports vLLM. Register another with `ENGINES[name] = "module:Class"`.
Engine-specific options (vLLM's tensor_parallel_size, gpu_memory_utilization, ...) come
from `rollout.engine_args` and are checked against the engine's keyword arguments before
anything loads.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Protocol

from ..config import ConfigError
from .batch import RolloutBatch

ENGINES: dict[str, str] = {
    "hf": "gpg_vl.rollout.hf:HFEngine",
    "vllm": "gpg_vl.rollout.vllm:VLLMEngine",
}


class RolloutEngine(Protocol):
    def generate(self, prompts, n: int, greedy: bool = False) -> RolloutBatch: ...
    def load_weights(self, model) -> None: ...
    def close(self) -> None: ...


def engine_class(name: str) -> type:
    if name not in ENGINES:
        raise ConfigError(f"unknown rollout engine {name!r}; valid: {', '.join(sorted(ENGINES))}")
    module, cls = ENGINES[name].split(":")
    return getattr(importlib.import_module(module), cls)


def check_engine_args(cls: type, engine_args: dict, common: set[str] = frozenset()) -> None:
    """Fail naming the key when an engine option is unknown or set by the loop itself."""
    params = inspect.signature(cls.__init__).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    options = sorted(k for k, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY or
                     (p.default is not inspect.Parameter.empty and k != "self"))
    for key in engine_args:
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


__all__ = ["ENGINES", "RolloutBatch", "RolloutEngine", "build_engine", "check_engine_args", "engine_class"]
