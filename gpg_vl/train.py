"""CLI: `python -m gpg_vl.train --preset NAME [key=value ...]`.

    python -m gpg_vl.train --preset demo
    python -m gpg_vl.train --preset demo optim.steps=50 log.out_dir=runs/try
    python -m gpg_vl.train --list-presets
    python -m gpg_vl.train --help-config

The one module of gpg_vl that reaches outside it: `default_hooks` wires data_prep's
synthetic tasks, the probe and eval/'s benchmarks into the trainer (gpg_vl.hooks).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys

from .config import Config, list_presets, load_config, preset_path
from .errors import run_cli
from .hooks import Hooks


def default_hooks() -> Hooks:
    """The CLI's hooks: data_prep.synthetic, gpg_vl.probe, eval.periodic and eval.rollout_report
    (imported only here)."""
    from data_prep.synthetic import write_synthetic
    from eval.periodic import check_benchmarks, evaluate_during_training
    from eval.rollout_report import write_rollout_report

    from .probe import probe

    return Hooks(make_synthetic=write_synthetic, probe=probe, evaluate=evaluate_during_training,
                 check_benchmarks=check_benchmarks, report=write_rollout_report)


def describe(cls: type = Config, prefix: str = "") -> list[str]:
    """`key (type) = default: doc` lines for --help-config, from the field docstrings."""
    import ast
    import inspect

    docs: dict[str, str] = {}
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body
    for node, nxt in zip(body, body[1:] + [None]):
        if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
            docs[node.target.id] = nxt.value.value
    lines = []
    default = cls()
    for f in dataclasses.fields(cls):
        value = getattr(default, f.name)
        if dataclasses.is_dataclass(value):
            lines += describe(type(value), f"{prefix}{f.name}.")
        else:
            lines.append(f"{prefix}{f.name} = {value!r}: {docs.get(f.name, '')}")
    return lines


def preset_description(name: str) -> str:
    import yaml

    return (yaml.safe_load(preset_path(name).read_text()) or {}).get("description", "")


def main(argv: list[str] | None = None) -> int:
    """Exit status 0; 2 with one message for anything the user can fix (gpg_vl.errors)."""
    return run_cli(lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gpg_vl.train", description=__doc__.splitlines()[0])
    parser.add_argument("--preset", help="preset name (see --list-presets) or a YAML file")
    parser.add_argument("--list-presets", action="store_true", help="list presets and exit")
    parser.add_argument("--help-config", action="store_true", help="list every config key and exit")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    parser.add_argument("overrides", nargs="*", help="key=value overrides, e.g. optim.lr=1e-5")
    args = parser.parse_args(argv)
    if args.list_presets:
        for name in list_presets():
            print(f"{name:24s} {preset_description(name)}")
        return 0
    if args.help_config:
        print("\n".join(describe()))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = load_config(args.preset, args.overrides)
    if args.print_config:
        import dataclasses
        print(json.dumps(dataclasses.asdict(cfg), indent=2))
        return 0
    for noisy in ("httpx", "httpx2", "transformers", "accelerate"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from .preflight import preflight
    from .trainer import train
    from .update import TrainingStopped

    hooks = default_hooks()
    preflight(cfg, hooks)  # config, rewards, engine, model source, run folder: seconds, before any data or weights
    try:
        result = train(cfg, hooks)
    except TrainingStopped as err:  # not the user's input: the run itself cannot go on
        print(f"training stopped: {err}", file=sys.stderr)
        return 1
    print(json.dumps({k: v for k, v in result.items() if k != "last"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
