"""A user's own reward rule, loaded by path (`tests/plugins/toy_rewards.py:distinct_chars`).

It scores any text, so a random tiny policy gets groups with differing rewards and every
parameter receives gradient in a few steps: what the end-to-end tests need.
"""


def distinct_chars(completions, samples, ctx):
    return [len(set(text)) / 10.0 for text in completions]


def even_records_only(completions, samples, ctx):
    """distinct_chars on records with an even index, 0 elsewhere: about half the groups are
    degenerate, so valid-group counts differ between processes (alpha != 1)."""
    return [len(set(text)) / 10.0 if int(s.id.rsplit("-", 1)[-1]) % 2 == 0 else 0.0
            for text, s in zip(completions, samples)]
