"""Experiment trackers (`log.report_to`) through accelerate's tracker classes.

    log.report_to=[tensorboard,wandb]     or  log.report_to=wandb,mlflow

Each tracker gets the run's config, flattened to `section.key` scalars, and every logged
metric. All four work without a network: TensorBoard writes `<out_dir>/tb`; W&B with
`WANDB_MODE=offline` writes `<out_dir>/wandb` (sync later with `wandb sync`); MLflow
writes `<out_dir>/mlflow.db` (or the file store `<out_dir>/mlruns` with mlflow-skinny)
unless MLFLOW_TRACKING_URI says otherwise;
trackio keeps its local database. The trackers are constructed directly (not through
`Accelerator(log_with=...)`) because the accelerator is built before the run folder
is known; they log from the main process only, as accelerate's do.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from .config import ConfigError

TRACKERS = ("tensorboard", "wandb", "trackio", "mlflow")


def tracker_names(log_cfg) -> list[str]:
    """`log.report_to` as a list; `log.tensorboard=false` drops tensorboard."""
    names = log_cfg.report_to
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip() and n.strip() != "none"]
    names = list(dict.fromkeys(str(n) for n in names))
    return [n for n in names if n != "tensorboard" or log_cfg.tensorboard]


def check_trackers(log_cfg) -> None:
    """Known names, installed packages, and W&B either logged in or offline; ConfigError otherwise."""
    for name in tracker_names(log_cfg):
        if name not in TRACKERS:
            raise ConfigError(f"log.report_to: unknown tracker {name!r}; valid: {', '.join(TRACKERS)}")
        if importlib.util.find_spec(name) is None:
            raise ConfigError(f"log.report_to: {name} is not installed; pip install {name} "
                              "(or pip install -e '.[track]'), or drop it from log.report_to")
    if "wandb" in tracker_names(log_cfg) and not _wandb_usable():
        raise ConfigError("log.report_to: wandb has no API key (wandb login / WANDB_API_KEY); "
                          "or set WANDB_MODE=offline to log locally and `wandb sync` later")


def _wandb_usable() -> bool:
    if os.environ.get("WANDB_MODE", "").lower() in ("offline", "disabled", "dryrun") or os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    return netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="ignore")


def _scalar(value: Any) -> Any:
    return value if isinstance(value, (bool, int, float, str)) else json.dumps(value, default=str)


def flat_config(cfg) -> dict[str, Any]:
    """{'optim.lr': 1e-6, 'rewards.weights': '{"iou": 1.0}', ...}: scalars every tracker accepts."""
    out: dict[str, Any] = {}
    for key, value in dataclasses.asdict(cfg).items():
        if isinstance(value, dict):  # a config section
            out.update({f"{key}.{k}": _scalar(v) for k, v in value.items()})
        else:
            out[key] = _scalar(value)
    return out


def _build(name: str, log_cfg, out: Path, resume_step: int | None = None):
    from accelerate import tracking

    run_name = out.resolve().name
    if name == "tensorboard":  # a resumed run drops the events logged after its checkpoint
        purge = None if resume_step is None else resume_step + 1
        return tracking.TensorBoardTracker("tb", str(out), purge_step=purge)
    if name == "wandb":
        return tracking.WandBTracker(log_cfg.project, name=run_name, dir=str(out))
    if name == "trackio":
        return tracking.TrackioTracker(log_cfg.project, name=run_name)
    if name == "mlflow":
        if not os.environ.get("MLFLOW_TRACKING_URI"):
            import mlflow

            mlflow.set_tracking_uri(mlflow_local_uri(out))
        return tracking.MLflowTracker(experiment_name=log_cfg.project, run_name=run_name)
    raise ConfigError(f"log.report_to: unknown tracker {name!r}; valid: {', '.join(TRACKERS)}")


def mlflow_local_uri(out: Path) -> str:
    """`sqlite:///<out>/mlflow.db` where sqlalchemy is installed (full mlflow), else the file
    store `<out>/mlruns` (mlflow-skinny), which MLflow 3 serves only when allowed explicitly."""
    if importlib.util.find_spec("sqlalchemy") is not None:
        return f"sqlite:///{(out / 'mlflow.db').resolve()}"
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return (out / "mlruns").resolve().as_uri()


def start_trackers(log_cfg, run_cfg=None, resume_step: int | None = None) -> list:
    """Started trackers for `log.report_to`, each holding the run's config (main process only)."""
    out = Path(log_cfg.out_dir)
    trackers = []
    for name in tracker_names(log_cfg):
        tracker = _build(name, log_cfg, out, resume_step)
        tracker.start()
        if run_cfg is not None:
            tracker.store_init_configuration(flat_config(run_cfg))
        trackers.append(tracker)
    return trackers
