"""Shared test helpers: record builders and the hostile-completion generator."""

from __future__ import annotations

import random

from gpg_vl.data.record import Record


def rec(task: str, answer, choices=None, meta=None, rid: str = "r0") -> Record:
    return Record(id=rid, task=task, images=["img.jpg"], problem="question?", answer=answer,
                  choices=choices, meta=dict(meta or {}))


_FRAGMENTS = [
    "<think>", "</think>", "<answer>", "</answer>", "\\boxed{", "{", "}", "(", ")", "[", "]",
    ",", " ", "\n", "9**9**9**9", "10^{10^{10^{10}}}", "^", "**", "!", "\\frac{", "\\sqrt{",
    "nan", "inf", "-inf", "1e309", "-1e999", "NaN", "Infinity", "0", "1", "42", "3.14",
    "999999999999999999999999", "٣", "١٢", "３", "½", "Ⅻ", "\u200b", "\ud800", "\x00",
    '{"bbox_2d": [', '"label": "x"}', "<|box_start|>", "<|box_end|>", "(10,20),(30,40)",
    "[1, 2, 3, 4]", "'Position': [", "'Confidence': ", "A", "(B)", "C.", "answer is D",
    "three", "twenty-one", "hundred", "red", "$", "\\left(", "\\right)", "x", "=", "\\pi",
    "\\int_0^1", "\\sum_{n=1}^{\\infty}", "\\binom{99999}{5000}", "99999!", "\\exp(\\exp(",
    "```json", "```", "\\text{", "°", "%", "\\\\", "'", '"',
]


def _tower(rng: random.Random) -> str:
    depth = rng.randint(2, 12)
    base = rng.choice(["9", "10", "2", "99999", "x"])
    if rng.random() < 0.5:
        return "**".join([base] * depth)
    return "^{".join([base] * depth) + "}" * (depth - 1)


def _nested(rng: random.Random) -> str:
    depth = rng.choice([10, 100, 1000, 20000])
    opener = rng.choice(["{", "\\boxed{", "(", "[", "\\frac{"])
    closer = {"{": "}", "\\boxed{": "}", "(": ")", "[": "]", "\\frac{": "}{1}"}[opener]
    return opener * depth + rng.choice(["1", "x", ""]) + closer * rng.choice([depth, depth // 2])


def _numbers(rng: random.Random) -> str:
    vals = [rng.choice(["nan", "inf", "-inf", "1e309", "-0", "1e-400", "7", "1" * 400,
                        "٣", "１２", "3.", ".5", "+-3", "0x10"]) for _ in range(4)]
    shape = rng.choice(["[{}, {}, {}, {}]", '{{"bbox_2d": [{}, {}, {}, {}]}}',
                        "({},{}),({},{})", "<|box_start|>({},{}),({},{})<|box_end|>"])
    return shape.format(*vals)


def _malformed_json(rng: random.Random) -> str:
    good = '[{"bbox_2d": [12, 34, 56, 78], "label": "cat", "confidence": 0.9}]'
    cut = rng.randint(0, len(good))
    return rng.choice([good[:cut], good[cut:], good.replace(",", ""), good * rng.randint(2, 200)])


def _soup(rng: random.Random) -> str:
    return "".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(1, 60)))


def _repeat(rng: random.Random) -> str:
    unit = rng.choice(["<answer>", "</think><answer>", "(", "[1,", "{", "</answer>", "\\boxed{",
                       "<think>", "1 ", "a", "(1,2)", "]", "))", "<|box_start|>"])
    return unit * rng.randint(1_000, 30_000)


def _wrap(rng: random.Random, body: str) -> str:
    return rng.choice(["{}", "<answer>{}</answer>", "<think>...</think><answer>{}</answer>",
                       "\\boxed{{{}}}", "The answer is {}", "<think>{}</think>"]).format(body)


_KINDS = [_tower, _nested, _numbers, _malformed_json, _soup, _soup, _soup, _repeat]


def hostile_completions(n: int, seed: int = 0, megabyte_every: int = 500) -> list[str]:
    """n deterministic hostile completions; every `megabyte_every`-th is ~1 MB long."""
    rng = random.Random(seed)
    out = []
    for k in range(n):
        if megabyte_every and k % megabyte_every == 0:
            unit = rng.choice(["9", "<answer>", "{", "(1,", "x^", "</think>", "é"])
            out.append(_wrap(rng, unit * (1_000_000 // len(unit))))
        else:
            out.append(_wrap(rng, rng.choice(_KINDS)(rng)))
    return out
