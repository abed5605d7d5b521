"""Every config value checked at load, before any data or weights: each key against its
declared type as it is merged in, mode strings against their valid values, numbers against
their ranges, and the rules between fields. Each failure is one `ConfigError` naming the
key, the value and what it must be.

The chosen loss's own settings (`gpg_vl.algos.LossSpec.defaults`) fill the algo keys the
user left unset; a setting the chosen loss would ignore fails instead of being dropped.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Callable

from . import algos
from .config import SYNTHETIC_TASKS, Config, ConfigError

LOSS_KEYS = {k for spec in algos.LOSSES.values() for k in spec.defaults} | {"clip_eps"}
PRECISIONS = ("float32", "bfloat16", "float16")


def _engines() -> list[str]:
    from .rollout import ENGINES  # lazy: gpg_vl.rollout imports this package's config

    return sorted(ENGINES)


def _tiny_families() -> list[str]:
    from .families import FAMILIES

    return list(FAMILIES)


def _families() -> list[str]:
    from .rewards.context import family_conventions

    return list(family_conventions())


def _templates() -> list[str]:
    from .data.templates import TEMPLATES

    return sorted(TEMPLATES)


# key -> valid values (or a function giving them, for registries users extend)
CHOICES: dict[str, tuple | Callable[[], list[str]]] = {
    "model.dtype": PRECISIONS,
    "model.attn_implementation": ("sdpa", "eager", "flash_attention_2"),
    "model.build_tiny": lambda: ["", *_tiny_families()],
    "data.synthetic": ("", *SYNTHETIC_TASKS),
    "data.on_bad_record": ("error", "skip"),
    "rollout.engine": _engines,
    "algo.loss": lambda: sorted(algos.LOSSES),
    "algo.adv_norm": algos.ADV_NORMS,
    "algo.aggregation": algos.AGGREGATIONS,
    "optim.schedule": ("linear", "constant"),
    "rewards.model_family": lambda: ["auto", *_families()],
}

RANGES = {  # key -> (test, what it must be); a run with these would fail or learn nothing, later
    "rollout.group_size": (lambda v: v >= 2, ">= 2 (advantages compare completions within a group)"),
    "rollout.temperature": (lambda v: v > 0, "> 0 (sampling; the training forward divides by it)"),
    "rollout.top_p": (lambda v: 0 < v <= 1, "in (0, 1]"),
    "rollout.top_k": (lambda v: v >= 0, ">= 0 (0 = off)"),
    "rollout.max_new_tokens": (lambda v: v >= 1, ">= 1"),
    "rollout.max_prompt_length": (lambda v: v >= 1, ">= 1"),
    "optim.steps": (lambda v: v >= 0, ">= 0"),
    "optim.prompts_per_step": (lambda v: v >= 1, ">= 1"),
    "optim.lr": (lambda v: v > 0, "> 0"),
    "optim.grad_clip": (lambda v: v >= 0, ">= 0 (0 = off)"),
    "optim.warmup_steps": (lambda v: v >= 0, ">= 0"),
    "optim.micro_batch_tokens": (lambda v: v >= 1, ">= 1"),
    "optim.max_skipped": (lambda v: v >= 1, ">= 1"),
    "optim.logprob_chunk_tokens": (lambda v: v is None or v >= 0, ">= 0 (0: all at once) or null"),
    "algo.beta_th": (lambda v: 0 <= v <= 1, "in [0, 1] (a fraction of groups)"),
    "algo.max_resample_attempts": (lambda v: v >= 1, ">= 1"),
    "algo.clip_eps": (lambda v: v is None or 0 < v < 1, "in (0, 1)"),
    "algo.kl_beta": (lambda v: v >= 0, ">= 0"),
    "algo.updates_per_rollout": (lambda v: v >= 1, ">= 1"),
    "algo.tis_cap": (lambda v: v == 0 or v >= 1, "0 (off) or >= 1"),
    "algo.carry_is_cap": (lambda v: v >= 1, ">= 1"),
    "vision.min_pixels": (lambda v: v > 0, "> 0"),
    "data.box_tolerance": (lambda v: v >= 0, ">= 0 (pixels)"),
    "optim.betas": (lambda v: len(v) == 2 and all(isinstance(b, (int, float)) and 0 <= b < 1 for b in v),
                    "two numbers in [0, 1), e.g. [0.9, 0.999]"),
    "lora.r": (lambda v: v >= 0, ">= 0 (0 = off: full-parameter training)"),
    "lora.alpha": (lambda v: v > 0, "> 0 (the adapters' update is scaled by alpha / r)"),
    "lora.dropout": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "lora.target_modules": (lambda v: all(isinstance(m, str) and m for m in v), "a list of module names, e.g. [q_proj, v_proj]"),
    "lora.modules_to_save": (lambda v: all(isinstance(m, str) and m for m in v), "a list of module names, e.g. [lm_head]"),
    "log.every": (lambda v: v >= 1, ">= 1"),
    "log.report_every": (lambda v: v >= 0, ">= 0 (0 = off)"),
    "log.report_groups": (lambda v: v >= 1, ">= 1"),
    "ckpt.every": (lambda v: v >= 0, ">= 0 (0 = only at the end)"),
    "probe.size": (lambda v: v >= 0, ">= 0"),
    "probe.every": (lambda v: v >= 0, ">= 0 (0 = before and after only)"),
    "optim.max_rollouts": (lambda v: v >= 0, ">= 0 (0 = off)"),
    "sft.steps": (lambda v: v >= 0, ">= 0"),
    "sft.prompts_per_step": (lambda v: v >= 1, ">= 1"),
    "sft.lr": (lambda v: v > 0, "> 0"),
    "eval.every": (lambda v: v >= 0, ">= 0"),
}


def _get(cfg: Config, key: str):
    section, name = key.split(".")
    return getattr(getattr(cfg, section), name)


def check_config(cfg: Config) -> None:
    resolve_loss_defaults(cfg)
    for key, valid in CHOICES.items():
        values = valid() if callable(valid) else valid
        if _get(cfg, key) not in values:
            raise ConfigError(f"{key}={_get(cfg, key)!r} is not one of: {', '.join(map(repr, values))}")
    if cfg.data.template not in _templates() and "{question}" not in cfg.data.template:
        raise ConfigError(f"data.template={cfg.data.template!r}: a template name ({', '.join(_templates())}) "
                          "or a format string containing {question}")
    for key, (ok, rule) in RANGES.items():
        if not ok(_get(cfg, key)):
            raise ConfigError(f"{key}={_get(cfg, key)!r}: must be {rule}")
    check_across(cfg)


def resolve_loss_defaults(cfg: Config) -> None:
    """Fill the algo keys left unset with the chosen loss's paper settings."""
    try:
        spec = algos.loss_spec(cfg.algo.loss)
    except ValueError as err:
        raise ConfigError(f"algo.loss: {err}") from None
    for key, value in spec.defaults.items():
        if getattr(cfg.algo, key) is None:
            setattr(cfg.algo, key, value)


def check_across(cfg: Config) -> None:
    """Rules between fields: a setting another one makes meaningless fails, naming both."""
    a, spec = cfg.algo, algos.loss_spec(cfg.algo.loss)
    if a.kl_beta > 0 and not spec.kl:
        raise ConfigError(f"algo.kl_beta={a.kl_beta}: algo.loss={a.loss} has no KL term, so a reference model "
                          "would run for nothing; remove it (or use algo.loss=grpo)")
    if not spec.ratio and a.updates_per_rollout != 1:
        raise ConfigError(f"algo.updates_per_rollout={a.updates_per_rollout}: algo.loss={a.loss} has no "
                          "importance ratio, so a second update on the same samples would be biased; "
                          "use 1 (or algo.loss=grpo / dr_grpo)")
    if not spec.ratio and a.clip_eps is not None:
        raise ConfigError(f"algo.clip_eps={a.clip_eps}: algo.loss={a.loss} has no ratio to clip; remove it")
    if spec.ratio and a.tis_cap:
        raise ConfigError(f"algo.tis_cap={a.tis_cap}: algo.loss={a.loss}'s ratio is already taken against the "
                          "rollout engine's log-probs (that is its importance correction); remove it")
    if a.token_sum_norm and a.aggregation != "token_sum_norm":
        raise ConfigError(f"algo.token_sum_norm={a.token_sum_norm} is used only with "
                          f"algo.aggregation=token_sum_norm (now {a.aggregation})")
    if cfg.rollout.top_p < 1 or cfg.rollout.top_k:
        raise ConfigError(f"rollout.top_p={cfg.rollout.top_p} / rollout.top_k={cfg.rollout.top_k}: the training "
                          "log-probs score the full distribution, so a truncated sampler would make every update "
                          "off-policy; use top_p=1 and top_k=0 (temperature is matched exactly)")
    if cfg.vision.min_pixels > cfg.vision.max_pixels:
        raise ConfigError(f"vision.min_pixels={cfg.vision.min_pixels} is above "
                          f"vision.max_pixels={cfg.vision.max_pixels}")
    check_sources(cfg)
    check_lora(cfg)
    if cfg.eval.every and not cfg.eval.benchmarks:
        raise ConfigError(f"eval.every={cfg.eval.every} needs eval.benchmarks (name -> held-out records file)")
    if cfg.probe.size and not cfg.data.synthetic:
        raise ConfigError(f"probe.size={cfg.probe.size} needs a synthetic task (data.synthetic); "
                          "use eval.benchmarks for real data")
    if cfg.probe.every and not cfg.probe.size:
        raise ConfigError(f"probe.every={cfg.probe.every} needs probe.size > 0")
    if "{answer}" not in cfg.sft.answer_format:
        raise ConfigError(f"sft.answer_format={cfg.sft.answer_format!r} must hold {{answer}}")
    if cfg.model.dtype == "float16":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("model.dtype=float16 needs a CUDA GPU (loss scaling); use bfloat16 on a CPU")


def check_lora(cfg: Config) -> None:
    """lora.* settings mean something only with lora.r > 0: set without it, they fail."""
    import dataclasses

    from .config import LoraConfig

    if cfg.lora.r:
        return
    default = LoraConfig()
    for f in dataclasses.fields(LoraConfig):
        if f.name != "r" and getattr(cfg.lora, f.name) != getattr(default, f.name):
            raise ConfigError(f"lora.{f.name}={getattr(cfg.lora, f.name)!r} is set but lora.r=0 (LoRA off, every "
                              "parameter trains); set lora.r (e.g. lora.r=64) or remove it")


def check_sources(cfg: Config) -> None:
    """data.train's shape (one path, a list, {path: weight}) and rewards.by_task's."""
    train = cfg.data.train
    if isinstance(train, (list, dict)):
        if not train or not all(isinstance(p, str) and p for p in train):
            raise ConfigError(f"data.train={train!r}: a list of paths, or {{path: weight}}, with at least one path")
        if cfg.data.synthetic:
            raise ConfigError("data.synthetic generates one file: give data.train as one path, or set data.synthetic=''")
    if isinstance(train, dict):
        bad = {p: w for p, w in train.items() if isinstance(w, bool) or not isinstance(w, (int, float)) or w <= 0}
        if bad:
            raise ConfigError(f"data.train: mixing weights must be numbers > 0; got {bad}")
    for task, spec in cfg.rewards.by_task.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("weights"), dict) or not spec["weights"]:
            raise ConfigError(f"rewards.by_task.{task}: give {{weights: {{rule: weight}}, args: {{...}}}}, got {spec!r}")


# --- types, as each preset / override mapping is merged in -----------------------------

def _check_type(value: Any, tp: Any, key: str, where: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):  # YAML 1.1 reads 1e-6 (no dot) as a string
        try:
            return float(value)
        except ValueError:
            pass
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _check_type(value, arg, key, where)
            except ConfigError:
                pass
        raise ConfigError(f"{where}: key '{key}' expects {tp}, got {value!r}")
    base = origin or tp
    if base is type(None):
        ok = value is None
    elif base is bool:
        ok = isinstance(value, bool)
    elif base is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, base)
    if not ok:
        raise ConfigError(f"{where}: key '{key}' expects {getattr(base, '__name__', base)}, "
                          f"got {type(value).__name__} {value!r}")
    return value


def merge_checked(obj: Any, values: dict, prefix: str, where: str) -> None:
    """Set `values` (a nested mapping) on the config dataclass `obj`, each checked against
    its declared type; an unknown key or a wrong type is a ConfigError naming it and `where`."""
    hints = typing.get_type_hints(type(obj))
    names = {f.name for f in dataclasses.fields(obj)}
    for key, value in values.items():
        full = f"{prefix}{key}"
        if key not in names:
            raise ConfigError(f"{where}: unknown key '{full}'; known: {', '.join(sorted(names))}")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: key '{full}' is a section; give it a mapping")
            merge_checked(current, value, full + ".", where)
        else:
            setattr(obj, key, _check_type(value, hints[key], full, where))
