"""Registry lookups (name, module:function, file:function, entry point) and the stack."""

from __future__ import annotations

import math
import sys
import textwrap
from pathlib import Path

import pytest

import gpg_vl.rewards.registry as registry
from gpg_vl.rewards import (RewardContext, RewardLookupError, RewardStack, get_reward,
                            list_rewards, register_reward)
from rewards_helpers import rec

REPO = Path(__file__).resolve().parents[2]
BUILT_INS = {"format", "format_boxed", "iou", "giou", "iou_hit", "answer_match", "count", "detection"}


@pytest.fixture
def clean_registry(monkeypatch):
    """Rules registered inside a test disappear after it."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))


def test_builtins_are_listed():
    assert BUILT_INS <= set(list_rewards())


def test_register_and_duplicate(clean_registry):
    @register_reward("always_one")
    def always_one(completions, samples, ctx):
        return [1.0] * len(completions)

    assert get_reward("always_one") is always_one
    with pytest.raises(ValueError, match="already registered"):
        register_reward("always_one")(lambda c, s, x: [])
    with pytest.raises(ValueError, match="already registered"):
        register_reward("iou")(lambda c, s, x: [])


def test_unknown_name_lists_known_ones():
    with pytest.raises(RewardLookupError) as err:
        get_reward("iuo")
    assert "unknown reward 'iuo'" in str(err.value)
    assert "answer_match" in str(err.value) and "iou_hit" in str(err.value)


def test_module_function_spec():
    fn = get_reward("gpg_vl.rewards.box_rules:iou_reward")
    assert fn is get_reward("iou")
    with pytest.raises(RewardLookupError, match="cannot import"):
        get_reward("no_such_pkg.mod:fn")
    with pytest.raises(RewardLookupError, match="no 'nope'"):
        get_reward("gpg_vl.rewards.box_rules:nope")


def test_file_spec_loads_once(tmp_path, clean_registry):
    path = tmp_path / "rules.py"
    path.write_text(textwrap.dedent("""
        from gpg_vl.rewards import register_reward

        @register_reward("file_rule")
        def file_rule(completions, samples, ctx, *, bonus=0.5):
            return [bonus for _ in completions]
    """))
    fn = get_reward(f"{path}:file_rule")
    assert fn is get_reward(f"{path}:file_rule")   # loaded once: no duplicate-name failure
    assert get_reward("file_rule") is fn           # its decorator registered it too
    assert fn(["a"], [rec("count", 1)], RewardContext()) == [0.5]
    with pytest.raises(RewardLookupError, match="not found"):
        get_reward(f"{tmp_path}/missing.py:fn")


def test_entry_point_spec(tmp_path, monkeypatch):
    """A pip-installed package adds a rule through the gpg_vl.rewards entry-point group."""
    (tmp_path / "ep_rules_pkg.py").write_text(
        "def lucky(completions, samples, ctx):\n    return [7.0] * len(completions)\n")
    dist = tmp_path / "ep_rules_pkg-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-rules-pkg\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[gpg_vl.rewards]\nlucky = ep_rules_pkg:lucky\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "lucky" in list_rewards()
    assert get_reward("lucky")(["x"], [rec("count", 1)], RewardContext()) == [7.0]
    stack = RewardStack.from_config({"lucky": 1.0})
    assert stack(["x"], [rec("count", 1)], RewardContext()) == {"lucky": [7.0]}


def test_example_rule_by_path(monkeypatch):
    """examples/my_reward.py:concise_answer loads by path through the stack, with options."""
    monkeypatch.chdir(REPO)
    spec = "examples/my_reward.py:concise_answer"
    stack = RewardStack.from_config({"answer_match": 1.0, spec: 0.5}, {spec: {"max_words": 2}})
    texts = ["<think>r</think><answer>red</answer>",
             "<think>r</think><answer>it is red, I think</answer>",
             "<think>r</think><answer></answer>"]
    scores = stack(texts, [rec("classification", "red")] * 3, RewardContext())
    # 5 words with max 2: 1 - (5 - 2) / (3 * 2) = 0.5
    assert scores == {"answer_match": [1.0, 0.0, 0.0], spec: [1.0, 0.5, 0.0]}
    assert stack.total(scores) == [1.5, 0.25, 0.0]
    with pytest.raises(ValueError, match="max_words must be >= 1"):
        RewardStack.from_config({spec: 1.0}, {spec: {"max_words": 0}})


def test_stack_options_checked_at_construction():
    with pytest.raises(ValueError, match="'iou' does not accept option 'threshold'"):
        RewardStack.from_config({"iou": 1.0}, {"iou": {"threshold": 0.5}})
    with pytest.raises(ValueError, match="rejected options"):
        RewardStack.from_config({"answer_match": 1.0}, {"answer_match": {"extract": "nope"}})
    with pytest.raises(ValueError, match="not in the weights"):
        RewardStack.from_config({"iou": 1.0}, {"giou": {}})
    with pytest.raises(ValueError, match="finite number"):
        RewardStack.from_config({"iou": math.nan})
    with pytest.raises(RewardLookupError):
        RewardStack.from_config({"nope": 1.0})


def test_stack_scores_per_rule_and_total():
    stack = RewardStack.from_config({"iou_hit": 2.0, "format": 0.5}, {"iou_hit": {"threshold": 0.9}})
    ctx = RewardContext([[(100, 100)], [(100, 100)]], [[(100, 100)], [(100, 100)]])
    texts = ["<think>x</think><answer>[0, 0, 50, 50]</answer>", "[0, 0, 50, 40]"]
    scores = stack(texts, [rec("grounding", [0, 0, 50, 50])] * 2, ctx)
    assert stack.names == ["iou_hit", "format"]
    assert scores == {"iou_hit": [1.0, 0.0], "format": [1.0, 0.0]}
    assert stack.total(scores) == [2.5, 0.0]
    assert stack.metrics(scores)["reward/iou_hit"] == 0.5
    assert stack.metrics(scores)["reward/total"] == 1.25


def test_stack_contains_failing_rules(clean_registry):
    @register_reward("fragile")
    def fragile(completions, samples, ctx):
        if any("boom" in c for c in completions):
            raise RuntimeError("boom")
        return [math.nan if c == "nan" else 1.0 for c in completions]

    @register_reward("short")
    def short(completions, samples, ctx):
        return [1.0] * max(len(completions) - 1, 0)

    stack = RewardStack.from_config({"fragile": 1.0, "short": 1.0})
    texts = ["ok", "boom", "nan", "ok"]
    scores = stack(texts, [rec("count", 1)] * 4, RewardContext())
    # the batch call raised: items re-scored one by one; only "boom" is lost; "nan" -> 0
    assert scores["fragile"] == [1.0, 0.0, 0.0, 1.0]
    # wrong length for the batch, and 0 scores for 1 item: every item counted
    assert scores["short"] == [0.0] * 4
    assert stack.error_counts == {"fragile": 2, "short": 4}
    stack(["boom"], [rec("count", 1)], RewardContext())
    assert stack.error_counts["fragile"] == 3   # cumulative


def test_stack_rejects_misaligned_batch():
    stack = RewardStack.from_config({"format": 1.0})
    with pytest.raises(ValueError, match="2 completions but 1 samples"):
        stack(["a", "b"], [rec("count", 1)], RewardContext())


def test_import_is_light():
    """`import gpg_vl.rewards` must not pull in sympy / math-verify (0.5 s+) until used."""
    import subprocess

    code = "import sys, gpg_vl.rewards; print('sympy' in sys.modules, 'math_verify' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["False", "False"]
