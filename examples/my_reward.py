"""An example of your own reward rule, loaded by path; no change to gpg_vl needed.

A rule is a plain function with the one reward signature (gpg_vl/rewards/registry.py):

    fn(completions: list[str], samples: list[Record], ctx: RewardContext, *, <options>) -> list[float]

- `completions[i]` is the decoded text of one sampled completion, `samples[i]` the record
  it answers (`.task`, `.answer`, `.choices`, `.meta`, ...); `ctx` carries image sizes and
  the model's box convention (`ctx.original_size(i, record)`, `ctx.convention`).
- Return one float per completion. Options are keyword-only with defaults; set them in
  the config. Accept an empty batch (the stack calls it once that way to check options).
- Never raise on model output and keep it fast; if something does go wrong, the stack
  scores those items 0 and counts them under `reward_errors/<name>`.

Use it in a preset by its path (relative to where you launch training):

    rewards:
      weights:
        answer_match: 1.0
        examples/my_reward.py:concise_answer: 0.2
      args:
        examples/my_reward.py:concise_answer: {max_words: 5}

or from Python: `RewardStack.from_config({"examples/my_reward.py:concise_answer": 0.2})`.
Try it first on a few lines:

    python -m gpg_vl.rewards check --reward answer_match,examples/my_reward.py:concise_answer \\
        --input my_samples.jsonl

To share rules as a package, expose them as entry points in the "gpg_vl.rewards" group
(`[project.entry-points."gpg_vl.rewards"] concise = "my_pkg.rewards:concise_answer"`) and
use the entry point's name. Decorating with `@register_reward("concise")` also works, once
the module has been imported.
"""

from __future__ import annotations

from gpg_vl.rewards.answers import extract_answer


def concise_answer(completions, samples, ctx, *, max_words: int = 10) -> list[float]:
    """1.0 for an answer of at most `max_words` words, falling linearly to 0.0 at four
    times that; 0.0 for an empty answer. Rewards committing to a short final answer
    (the reasoning belongs in <think>), without judging whether it is right."""
    if max_words < 1:
        raise ValueError(f"max_words must be >= 1, got {max_words}")
    scores = []
    for text in completions:
        n = len(extract_answer(text).split())
        if n == 0:
            scores.append(0.0)
        else:
            scores.append(max(0.0, min(1.0, 1.0 - (n - max_words) / (3.0 * max_words))))
    return scores
