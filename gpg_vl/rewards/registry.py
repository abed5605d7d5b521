"""Where reward rules come from: a name, a module path, a file path, or an entry point.

Every rule has one signature:

    fn(completions: list[str], samples: list[Record], ctx: RewardContext, *, <options>) -> list[float]

one score per completion; `samples[i]` is the record completion i answers; options are
keyword-only with defaults and are set per rule in the config (RewardStack.from_config).
A rule must accept an empty batch (the stack calls it once that way to check options).

`get_reward(spec)` resolves, in order:

    "iou"                          a rule registered with @register_reward("iou")
    "my_pkg.rewards:my_rule"       a function in an importable module
    "path/to/file.py:my_rule"      a function in a Python file (loaded once per path)
    "my_rule"                      an entry point in group "gpg_vl.rewards", so a pip-installed
                                   package adds rules with, in its pyproject.toml:
                                   [project.entry-points."gpg_vl.rewards"]
                                   my_rule = "my_pkg.rewards:my_rule"
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Callable

ENTRY_POINT_GROUP = "gpg_vl.rewards"

RewardFn = Callable[..., list[float]]
"""fn(completions, samples, ctx, **options) -> list[float]; see module docstring."""

_REGISTRY: dict[str, RewardFn] = {}


class RewardLookupError(ValueError):
    """A reward spec that names nothing loadable; the message lists what exists."""


def register_reward(name: str) -> Callable[[RewardFn], RewardFn]:
    """Decorator: make `fn` available as `name`. A name already taken fails."""
    def decorator(fn: RewardFn) -> RewardFn:
        if not callable(fn):
            raise TypeError(f"reward {name!r}: {fn!r} is not callable")
        if name in _REGISTRY and _REGISTRY[name] is not fn:
            raise ValueError(f"reward {name!r} is already registered "
                             f"(by {_qualname(_REGISTRY[name])}); pick another name")
        _REGISTRY[name] = fn
        return fn
    return decorator


def _qualname(fn: RewardFn) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _entry_points() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def list_rewards() -> list[str]:
    """Names usable in a config: registered rules and installed entry points."""
    return sorted(set(_REGISTRY) | set(_entry_points()))


def get_reward(spec: str) -> RewardFn:
    """The rule `spec` names (see module docstring); fails listing the known names."""
    if spec in _REGISTRY:
        return _REGISTRY[spec]
    if ":" in spec:
        target, _, attr = spec.rpartition(":")
        module = _load_file(target) if _looks_like_path(target) else _import(target, spec)
        return _attribute(module, attr, spec)
    eps = _entry_points()
    if spec in eps:
        fn = eps[spec].load()
        if not callable(fn):
            raise RewardLookupError(f"entry point {spec!r} ({eps[spec].value}) is not callable")
        return fn
    raise RewardLookupError(
        f"unknown reward {spec!r}; known: {', '.join(list_rewards())}. "
        f"Also accepted: 'package.module:function' and 'path/to/file.py:function'")


def _looks_like_path(target: str) -> bool:
    return target.endswith(".py") or "/" in target or "\\" in target


def _import(module_name: str, spec: str) -> object:
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise RewardLookupError(f"reward {spec!r}: cannot import module {module_name!r}: {exc}") from exc


_FILE_MODULES: dict[Path, object] = {}


def _load_file(path_text: str) -> object:
    """Import a .py file once per resolved path (a second import would re-run its
    @register_reward decorators and fail as a duplicate)."""
    path = Path(path_text).expanduser().resolve()
    if path in _FILE_MODULES:
        return _FILE_MODULES[path]
    if not path.is_file():
        raise RewardLookupError(f"reward file {path_text!r} not found (resolved to {path})")
    name = f"gpg_vl_user_reward_{hashlib.sha1(str(path).encode()).hexdigest()[:12]}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    _FILE_MODULES[path] = module
    return module


def _attribute(module: object, attr: str, spec: str) -> RewardFn:
    fn = module
    for part in attr.split("."):
        if not hasattr(fn, part):
            public = sorted(n for n in dir(module) if not n.startswith("_")
                            and callable(getattr(module, n)))
            raise RewardLookupError(f"reward {spec!r}: no {attr!r} in {getattr(module, '__name__', module)}; "
                                    f"callables there: {', '.join(public)}")
        fn = getattr(fn, part)
    if not callable(fn):
        raise RewardLookupError(f"reward {spec!r}: {attr!r} is not callable")
    return fn


# Which tasks a rule can score, so a rule that can never score a record's task (iou on a
# classification record) is refused at load instead of training on zeros. "*" = any task
# the data checks do not know (plug-in tasks). A rule not listed here, and without a
# `tasks` attribute, is taken to score every task.
REWARD_TASKS: dict[str, frozenset[str]] = {
    "iou": frozenset({"grounding"}),
    "giou": frozenset({"grounding"}),
    "iou_hit": frozenset({"grounding"}),
    "detection": frozenset({"detection"}),
    "count": frozenset({"count"}),
    "answer_match": frozenset({"classification", "math", "count", "choice", "*"}),
}


def reward_tasks(spec: str) -> frozenset[str] | None:
    """The tasks `spec` scores: this table, else the rule's own `tasks` attribute, else None (any)."""
    if spec in REWARD_TASKS:
        return REWARD_TASKS[spec]
    tasks = getattr(get_reward(spec), "tasks", None)
    return frozenset(tasks) if tasks is not None else None


def can_score(spec: str, task: str) -> bool:
    from ..data.tasks import KNOWN_TASKS

    tasks = reward_tasks(spec)
    return tasks is None or task in tasks or ("*" in tasks and task not in KNOWN_TASKS)
