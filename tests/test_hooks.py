"""The package boundary: gpg_vl reaches eval/ and data_prep/ only through hooks that its CLI
(gpg_vl/train.py) wires in; a run whose config needs a missing hook fails naming the key."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from gpg_vl.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = ("eval", "data_prep")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside functions (relative ones as '.name')."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            out.add("." * node.level + (node.module or ""))
    return out


def test_nothing_in_gpg_vl_but_its_cli_imports_eval_or_data_prep():
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p) if m.split(".")[0] in OUTSIDE)
                 for p in (ROOT / "gpg_vl").rglob("*.py") if p != ROOT / "gpg_vl" / "train.py"}
    assert {k: v for k, v in offenders.items() if v} == {}
    assert not any("trainer" in m for m in imported_modules(ROOT / "gpg_vl" / "probe.py"))  # no probe/trainer cycle


def test_loading_data_and_importing_every_module_leaves_eval_and_data_prep_unimported(tmp_path):
    """The lazy imports too: data preparation calls its hook, not data_prep (run in a fresh process)."""
    code = f"""
import pkgutil, importlib, sys, types
import gpg_vl
for m in pkgutil.walk_packages(gpg_vl.__path__, "gpg_vl."):
    if m.name != "gpg_vl.train" and not m.name.endswith("__main__"):
        importlib.import_module(m.name)
from gpg_vl.config import load_config
from gpg_vl.data.prepare import load_training_data
cfg = load_config("demo", ["data.train={tmp_path}/data/train.jsonl"])
calls = []
class Called(Exception): pass
def hook(*args):
    calls.append(args)
    raise Called
acc = types.SimpleNamespace(main_process_first=lambda: __import__("contextlib").nullcontext(), is_main_process=True)
try:
    load_training_data(cfg, acc, hook)
except Called:
    pass
assert calls and calls[0][0] == cfg.data.synthetic, calls
print(sorted(n for n in sys.modules if n.split(".")[0] in {OUTSIDE!r}))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("overrides,message", [
    (["probe.size=8"], "probe.size=8: needs the probe hook"),
    (["probe.size=0", "eval.every=2", "eval.benchmarks={refcoco_val: x.jsonl}"], "eval.every=2: needs the evaluate hook"),
    (["probe.size=0"], "data.synthetic=color: needs the make_synthetic hook"),
    (["probe.size=0", "log.report_every=5"], "log.report_every=5: needs the report hook"),
])
def test_a_missing_hook_is_a_config_error_naming_the_key(tmp_path, overrides, message):
    from gpg_vl.preflight import check_values
    from gpg_vl.hooks import Hooks
    from gpg_vl.trainer import train

    cfg = load_config("demo", [f"data.train={tmp_path}/data/train.jsonl", f"log.out_dir={tmp_path}/run",
                               "data.synthetic=color", *overrides])
    with pytest.raises(ConfigError, match=message):
        train(cfg)  # before anything loads: no accelerator, data or weights
    with pytest.raises(ConfigError, match=message):
        check_values(cfg, Hooks())  # the CLI's preflight says the same, in seconds
    assert not (tmp_path / "data").exists()


def test_the_cli_wires_every_hook():
    from gpg_vl.train import default_hooks

    hooks = default_hooks()
    assert all(getattr(hooks, name) is not None for name in hooks.__dataclass_fields__)
