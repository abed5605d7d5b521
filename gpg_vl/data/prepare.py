"""The training records of a run: synthetic data made only where it is safe, then checked.

Under a preset with `data.synthetic` (the demo), a `data.train` that does not exist used
to be filled silently with 2,000 synthetic records, so a mistyped path trained on
shapes. Now the data is generated only when `data.train` is a .jsonl path whose folder
holds no other data, and the run says in one line what it generated and where; a typo
next to real data fails naming the close matches.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import SYNTHETIC_TASKS, Config, ConfigError
from .loading import load_records
from .tasks import task_checks

log = logging.getLogger(__name__)
DATA_SUFFIXES = (".jsonl", ".json", ".parquet")


def _close_matches(path: Path) -> list[str]:
    if not path.parent.is_dir():
        return []
    names = [p.name for p in path.parent.iterdir() if p.suffix in DATA_SUFFIXES or p.is_dir()]
    return [str(path.parent / n) for n in difflib.get_close_matches(path.name, names, n=3, cutoff=0.6)]


def train_sources(train) -> list[tuple[str, float | None]]:
    """data.train as (path, weight) pairs: one path; a list (weight None: every record alike);
    or {path: weight} (sources mixed by weight)."""
    if isinstance(train, dict):
        return [(str(p), float(w)) for p, w in train.items()]
    if isinstance(train, list):
        return [(str(p), None) for p in train]
    return [(str(train), None)]


def check_train_path(cfg: Config) -> None:
    """Every data.train source exists, or data.synthetic may safely generate the one file there."""
    sources = train_sources(cfg.data.train)
    if len(sources) > 1 or not isinstance(cfg.data.train, str):
        for path, _ in sources:
            if not Path(path).exists():
                close = _close_matches(Path(path))
                hint = f"; did you mean {' or '.join(close)}?" if close else ""
                raise ConfigError(f"data.train: {path}: no such file or folder{hint}")
        return
    check_one_path(cfg)


def check_one_path(cfg: Config) -> None:
    """data.train exists, or data.synthetic may safely generate it there; ConfigError otherwise."""
    data = cfg.data
    path = Path(data.train)
    if path.exists():
        return
    close = _close_matches(path)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    if not data.synthetic:
        raise ConfigError(f"data.train={data.train}: no such file or folder{hint}")
    if data.synthetic not in SYNTHETIC_TASKS:
        raise ConfigError(f"data.synthetic={data.synthetic!r} unknown; valid: {', '.join(SYNTHETIC_TASKS)} "
                          "(or '' to train on data.train as it is)")
    if path.suffix != ".jsonl":
        raise ConfigError(f"data.train={data.train} does not exist, and data.synthetic writes a .jsonl file; "
                          "check the path, or set data.synthetic='' for your own data")
    others = sorted(p.name for p in path.parent.glob("*") if p.suffix in DATA_SUFFIXES) \
        if path.parent.is_dir() else []
    if others:
        raise ConfigError(f"data.train={data.train} does not exist, and data.synthetic={data.synthetic} will not "
                          f"generate synthetic data next to other data ({', '.join(others[:5])}){hint} "
                          "Set data.synthetic='' to train on your own file.")


@dataclass
class TrainingData:
    records: list          # every source's records, concatenated in order
    sizes: list[int]       # records per source
    weights: list[float] | None  # mixing weights (data.train as {path: weight}); None: records alike


def synthetic_due(cfg: Config) -> bool:
    """data.synthetic is to write data.train (one source, not there yet)."""
    sources = train_sources(cfg.data.train)
    return bool(cfg.data.synthetic) and len(sources) == 1 and not Path(sources[0][0]).exists()


def load_training_data(cfg: Config, accelerator, make_synthetic: Callable | None = None) -> TrainingData:
    """Generate the synthetic task if due (main process first, with `make_synthetic`: the
    hooks' writer), then load and check every source's records (a record whose task no
    reward stack scores is refused here)."""
    data = cfg.data
    sources = train_sources(data.train)
    path = Path(sources[0][0])
    if synthetic_due(cfg):
        check_train_path(cfg)
        if make_synthetic is None:
            raise ConfigError(f"data.synthetic={data.synthetic}: data.train={data.train} is to be generated, "
                              "but this run was given no make_synthetic hook (python -m gpg_vl.train wires it in)")
        with accelerator.main_process_first():
            if accelerator.is_main_process and not path.exists():
                make_synthetic(data.synthetic, data.synthetic_size, path.parent, path.stem, cfg.seed)
                log.warning("generated %d synthetic %r records at %s (images in %s) because data.train did not "
                            "exist and data.synthetic=%s; set data.synthetic='' to train on your own data",
                            data.synthetic_size, data.synthetic, path, path.parent / "images", data.synthetic)
    checks = task_checks(cfg)
    parts = [load_records(p, data.image_root or None, on_bad=data.on_bad_record, checks=checks) for p, _ in sources]
    weights = [w for _, w in sources] if isinstance(data.train, dict) else None
    if len(parts) > 1:
        log.info("data.train: %s", ", ".join(f"{p} ({len(r)} records" + (f", weight {w:g})" if w else ")")
                                         for (p, w), r in zip(sources, parts)))
    return TrainingData([r for part in parts for r in part], [len(p) for p in parts], weights)
