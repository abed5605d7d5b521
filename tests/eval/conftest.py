"""Fixture data of every benchmark kind, converted with data_prep once per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for path in (ROOT, HERE):  # `eval`, `data_prep` and eval_helpers importable under plain `pytest`
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


@pytest.fixture(scope="session")
def bench_data(tmp_path_factory) -> dict[str, Path]:
    from eval_helpers import build_all

    return build_all(tmp_path_factory.mktemp("eval_data"))
