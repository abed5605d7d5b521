"""Checks of a whole run configuration that need no data and no weights, run first.

`train()` would find most of these faults too, but later: a reward name typo after the
weights load, a missing model after the data are read, an unwritable run folder after
the first step. Here each fails in seconds as a ConfigError naming the key, in this
order: data keys, rewards, rollout engine, model (local folder or hub), hooks and eval
benchmarks, logging.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from .config import Config, ConfigError
from .hooks import Hooks, check_hooks


def preflight(cfg: Config, hooks: Hooks | None = None) -> None:
    """`hooks`: those the run will be given (gpg_vl.hooks); the ones the config needs must be there."""
    hooks = hooks or Hooks()
    check_data_config(cfg)
    check_rewards(cfg)
    check_engine(cfg)
    from .models import check_model_config

    check_model_config(cfg.model)
    check_values(cfg, hooks)
    check_logging(cfg)


def check_values(cfg: Config, hooks: Hooks) -> None:
    """Values that would fail only mid-run (mode strings and ranges were checked at load:
    config_rules), and the hooks the config needs."""
    from .data.prepare import synthetic_due

    check_hooks(cfg, hooks, synthetic_due(cfg))
    if cfg.eval.benchmarks and hooks.check_benchmarks is not None:
        hooks.check_benchmarks(cfg.eval.benchmarks)  # names known (eval's registry)
    if cfg.probe.data and not Path(cfg.probe.data).is_file():
        raise ConfigError(f"probe.data={cfg.probe.data}: no such file")
    for name, path in cfg.eval.benchmarks.items():
        if not Path(str(path)).exists():
            raise ConfigError(f"eval.benchmarks.{name}={path}: no such file or folder")


def check_data_config(cfg: Config) -> None:
    data = cfg.data
    if not data.train:
        raise ConfigError("data.train is not set: give a JSONL file, a datasets folder or parquet file(s)")
    if data.image_root and not Path(data.image_root).is_dir():
        raise ConfigError(f"data.image_root={data.image_root}: no such folder")
    from .data.prepare import check_train_path

    check_train_path(cfg)


def check_rewards(cfg: Config) -> None:
    """Every rule resolves and takes its options (the stack's own dry run), before any model work."""
    from .rewards import build_rewards
    from .rewards.registry import RewardLookupError

    if not cfg.rewards.weights and not cfg.rewards.by_task:
        raise ConfigError("rewards.weights is empty: name at least one rule, e.g. {answer_match: 1.0}")
    try:
        build_rewards(cfg.rewards.weights, cfg.rewards.args, cfg.rewards.by_task)
    except RewardLookupError as err:
        raise ConfigError(f"rewards.weights: {err}") from None
    except (ValueError, TypeError) as err:
        raise ConfigError(f"rewards.weights / rewards.args: {err}") from None


ENGINE_PACKAGES = {"vllm": "vllm"}  # engine -> the package it imports when built


def check_engine(cfg: Config) -> None:
    """The engine name is known (engine_class lists the valid ones) and its package installed."""
    from .rollout import check_engine_args, engine_class
    from .trainer import ENGINE_KEYS

    check_engine_args(engine_class(cfg.rollout.engine), cfg.rollout.engine_args, ENGINE_KEYS)
    package = ENGINE_PACKAGES.get(cfg.rollout.engine)
    if package and importlib.util.find_spec(package) is None:
        raise ConfigError(f"rollout.engine={cfg.rollout.engine} needs the {package} package, which is not "
                          "installed (pip install -e '.[gpu]' on a GPU machine); or use rollout.engine=hf")


def check_logging(cfg: Config) -> None:
    from .tracking import check_trackers

    out = Path(cfg.log.out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"log.out_dir={out}: is a file; give a folder for the run's outputs")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".gpg_vl_write_test.{os.getpid()}"  # one per process: launchers run this N times at once
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise ConfigError(f"log.out_dir={out}: cannot be written ({err.strerror}); choose another folder") from None
    check_trackers(cfg.log)
