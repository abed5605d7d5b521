"""Sampling: how one `generate` call decodes. Callers pass it per call; engines never keep it.

The run samples with cfg.rollout.*, the probe decodes greedily with its own length cap,
and eval uses each benchmark's cap: one engine serves all three without being mutated.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Sampling:
    max_new_tokens: int
    "Completion length cap."
    temperature: float = 1.0
    "Softmax temperature (ignored when greedy)."
    top_p: float = 1.0
    "Nucleus sampling (1 = off; ignored when greedy)."
    top_k: int = 0
    "Top-k sampling (0 = off; ignored when greedy)."
    greedy: bool = False
    "Argmax decoding: one completion per prompt, repeated n times (the rows are identical)."


SAMPLING_KEYS = frozenset(f.name for f in fields(Sampling))
"""Settings no engine takes at construction (rollout.engine_args refuses them)."""
