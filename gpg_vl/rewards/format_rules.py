"""Layout rewards: did the completion reason in <think> and answer in the agreed place.

`format` scores 1.0 when the stripped completion matches, as a whole (DOTALL),

    <think>.*?</think>\\s*<answer>.*?</answer>

and 0.0 otherwise. It is computed without that regex, because a backtracking fullmatch is
quadratic on text with many `</think>` tags; `format_ok` is equivalent (tested against the
regex): the text starts with `<think>`, ends with `</answer>`, and the first
`</think>\\s*<answer>` after the opening tag ends before the closing tag begins.

`format_boxed` scores 1.0 for `<think>...</think>` followed by text containing a
non-empty, balanced `\\boxed{...}` (the boxed-math prompt style), else 0.0.

Before matching, the completion is stripped of surrounding whitespace and of trailing
end-of-turn markers (`<|im_end|>`, `<|endoftext|>`), which appear when a completion is
decoded without skipping special tokens and would otherwise zero every format reward.
Completions longer than MAX_TEXT_CHARS score 0 (runaway output is not well formatted).
"""

from __future__ import annotations

import re

from .answers import last_boxed
from .context import RewardContext
from .guard import MAX_TEXT_CHARS
from .registry import register_reward

FORMAT_PATTERN = r"<think>.*?</think>\s*<answer>.*?</answer>"
"""The layout, as a regex (documentation and the equivalence test; not used to score)."""

_THINK_THEN_ANSWER = re.compile(r"</think>\s*<answer>")
_END_MARKERS = ("<|im_end|>", "<|endoftext|>")


def _trimmed(text: str) -> str:
    """`text` without surrounding whitespace and trailing end-of-turn markers (linear:
    the end index moves back, nothing is copied until the end)."""
    s = text.strip()
    end = len(s)
    while True:
        marker = next((m for m in _END_MARKERS if s.endswith(m, 0, end)), None)
        if marker is None:
            return s[:end]
        end -= len(marker)
        while end and s[end - 1].isspace():
            end -= 1


def format_ok(text: str) -> bool:
    """Whether `text` (trimmed) fullmatches FORMAT_PATTERN with DOTALL, in linear time."""
    if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
        return False
    s = _trimmed(text)
    if not (s.startswith("<think>") and s.endswith("</answer>")):
        return False
    middle = _THINK_THEN_ANSWER.search(s, len("<think>"))
    return middle is not None and middle.end() <= len(s) - len("</answer>")


def format_boxed_ok(text: str) -> bool:
    """Whether `text` is `<think>...</think>` then text containing a non-empty \\boxed{}."""
    if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
        return False
    s = _trimmed(text)
    close = s.find("</think>", len("<think>"))
    if not s.startswith("<think>") or close < 0:
        return False
    boxed = last_boxed(s[close + len("</think>"):])
    return bool(boxed and boxed.strip())


@register_reward("format")
def format_reward(completions: list[str], samples: list, ctx: RewardContext) -> list[float]:
    """1.0 for `<think>...</think> <answer>...</answer>`, else 0.0 (module docstring)."""
    return [float(format_ok(c)) for c in completions]


@register_reward("format_boxed")
def format_boxed_reward(completions: list[str], samples: list, ctx: RewardContext) -> list[float]:
    """1.0 for `<think>...</think>` then a `\\boxed{...}` answer, else 0.0."""
    return [float(format_boxed_ok(c)) for c in completions]
