"""log.report_to: accelerate's trackers, offline, each holding the run's config and the metrics."""

import importlib.util
import json
import time

import pytest

from gpg_vl.config import ConfigError, load_config
from gpg_vl.metrics import MetricsLogger
from gpg_vl.tracking import check_trackers, flat_config, tracker_names


def run_logger(tmp_path, report_to, steps=3):
    from accelerate import PartialState

    PartialState()
    cfg = load_config("demo", [f"log.out_dir={tmp_path}", f"log.report_to={report_to}", "log.plot=false",
                               "log.progress=false"])
    check_trackers(cfg.log)
    logger = MetricsLogger(cfg.log, True, cfg)
    for step in range(1, steps + 1):
        logger.log(step, {"reward/total": 0.1 * step, "loss/policy": -0.5 * step})
    logger.close()
    return cfg


def test_names_from_list_or_string_and_tensorboard_switch():
    cfg = load_config(None, ["log.report_to=wandb,mlflow"])
    assert tracker_names(cfg.log) == ["wandb", "mlflow"]
    cfg = load_config(None, ["log.report_to=[tensorboard, wandb]", "log.tensorboard=false"])
    assert tracker_names(cfg.log) == ["wandb"]
    assert tracker_names(load_config(None, ["log.report_to=[]"]).log) == []


def test_unknown_or_missing_tracker_is_a_config_error(monkeypatch):
    with pytest.raises(ConfigError, match="unknown tracker 'wandbb'; valid: tensorboard, wandb"):
        check_trackers(load_config(None, ["log.report_to=wandbb"]).log)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match="mlflow is not installed; pip install mlflow"):
        check_trackers(load_config(None, ["log.report_to=mlflow"]).log)


def test_wandb_without_login_says_how_to_go_offline(monkeypatch, tmp_path):
    pytest.importorskip("wandb")
    for var in ("WANDB_MODE", "WANDB_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    with pytest.raises(ConfigError, match="WANDB_MODE=offline"):
        check_trackers(load_config(None, ["log.report_to=wandb"]).log)


def test_flat_config_is_scalars():
    flat = flat_config(load_config("demo"))
    assert flat["optim.lr"] == 3e-4 and flat["model.build_tiny"] == "qwen2_vl"
    assert json.loads(flat["rewards.weights"]) == {"answer_match": 1.0}
    assert all(isinstance(v, (bool, int, float, str)) for v in flat.values())


def test_tensorboard_events_and_hparams(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_logger(tmp_path, "tensorboard")
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert [e.value for e in events.Scalars("reward/total")] == pytest.approx([0.1, 0.2, 0.3])
    assert list((tmp_path / "tb").rglob("hparams.yml")), "run config not stored"


def test_wandb_offline(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run_logger(tmp_path, "wandb")
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("*.wandb")), "no offline W&B run written"
    log_file = next(runs[0].glob("*.wandb"))  # the offline log: protobuf records, keys in clear
    for _ in range(100):  # wandb-core may still be flushing it after finish() returns
        blob = log_file.read_bytes()
        if b"reward/total" in blob and b"optim.lr" in blob:
            break
        time.sleep(0.2)
    assert b"reward/total" in blob and b"optim.lr" in blob  # metrics and the run's config


def test_mlflow_file_store(tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    run_logger(tmp_path, "mlflow")
    from gpg_vl.tracking import mlflow_local_uri

    mlflow.set_tracking_uri(mlflow_local_uri(tmp_path))
    exp = mlflow.get_experiment_by_name("gpg_vl")
    (run,) = mlflow.search_runs([exp.experiment_id], output_format="list")
    assert run.data.params["optim.lr"] == "0.0003"
    history = mlflow.tracking.MlflowClient().get_metric_history(run.info.run_id, "reward/total")
    assert [m.step for m in history] == [1, 2, 3]


def test_trackio_local_database(tmp_path):
    """In a fresh interpreter: trackio reads TRACKIO_DIR when it is imported."""
    pytest.importorskip("trackio")
    import os
    import sqlite3
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    script = ("import sys; sys.path.insert(0, 'tests'); from pathlib import Path; from test_tracking import run_logger; "
              f"run_logger(Path({str(tmp_path / 'run')!r}), 'trackio')")
    r = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(root), "TRACKIO_DIR": str(tmp_path / "db")})
    assert r.returncode == 0, r.stderr[-2000:]
    db = sqlite3.connect(tmp_path / "db" / "gpg_vl.db")
    steps = [row[0] for row in db.execute("select step from metrics order by step")]
    (config,) = db.execute("select config from configs").fetchone()
    assert steps == [1, 2, 3] and json.loads(config)["optim.lr"] == 3e-4
