"""Rollout engines behind one small protocol, imported lazily by name.

    engine.generate(prompts: PromptBatch, n: int, greedy: bool = False) -> RolloutBatch
    engine.load_weights(model)   # after every optimizer step
    engine.close()

`hf` (transformers generate) runs anywhere; `vllm` (GPU) is imported only when chosen,
so `import gpg_vl` never imports vLLM. Register another with `ENGINES[name] = "module:Class"`.
"""

from __future__ import annotations

import importlib
from typing import Protocol

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
        raise ValueError(f"unknown rollout engine {name!r}; valid: {', '.join(sorted(ENGINES))}")
    module, cls = ENGINES[name].split(":")
    return getattr(importlib.import_module(module), cls)


__all__ = ["ENGINES", "RolloutBatch", "RolloutEngine", "engine_class"]
