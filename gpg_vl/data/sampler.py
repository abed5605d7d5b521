"""Endless, seeded, resumable prompt sampler, sharded across data-parallel processes."""

from __future__ import annotations

import random


class PromptSampler:
    """Epoch-shuffled record indices. Every process shuffles with the same seed and takes
    its own slice, so processes never see the same prompt in a step. `state()` and
    `load_state()` make a resumed run continue with exactly the prompts it would have."""

    def __init__(self, size: int, seed: int = 0, shuffle: bool = True, rank: int = 0, world: int = 1):
        if size < world:
            raise ValueError(f"{size} records cannot be split across {world} processes")
        self.size, self.seed, self.shuffle, self.rank, self.world = size, seed, shuffle, rank, world
        self.epoch, self.pos = 0, 0
        self._order = self._make_order()

    def _make_order(self) -> list[int]:
        order = list(range(self.size))
        if self.shuffle:
            random.Random(f"{self.seed}-{self.epoch}").shuffle(order)
        usable = len(order) - len(order) % self.world
        return order[self.rank:usable:self.world]

    def take(self, n: int) -> list[int]:
        out = []
        while len(out) < n:
            if self.pos >= len(self._order):
                self.epoch, self.pos = self.epoch + 1, 0
                self._order = self._make_order()
            out.append(self._order[self.pos])
            self.pos += 1
        return out

    def state(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state(self, state: dict) -> None:
        self.epoch, self.pos = state["epoch"], state["pos"]
        self._order = self._make_order()


class MixedSampler:
    """Several sources mixed by weight: each prompt's source is drawn (seeded, per process),
    then that source's own PromptSampler gives its next record. Indices are into the
    sources' records concatenated in order. `state()` / `load_state()` resume it exactly."""

    def __init__(self, sizes: list[int], weights: list[float], seed: int = 0, shuffle: bool = True,
                 rank: int = 0, world: int = 1):
        self.offsets = [sum(sizes[:i]) for i in range(len(sizes))]
        self.weights = list(weights)
        self.parts = [PromptSampler(n, seed + 7919 * i, shuffle, rank, world) for i, n in enumerate(sizes)]
        self.rng = random.Random(f"mix-{seed}-{rank}")

    def take(self, n: int) -> list[int]:
        sources = self.rng.choices(range(len(self.parts)), weights=self.weights, k=n)
        return [self.offsets[i] + self.parts[i].take(1)[0] for i in sources]

    def state(self) -> dict:
        return {"parts": [p.state() for p in self.parts], "rng": self.rng.getstate()}

    def load_state(self, state: dict) -> None:
        for part, s in zip(self.parts, state["parts"]):
            part.load_state(s)
        self.rng.setstate(state["rng"])


def make_sampler(sizes: list[int], weights: list[float] | None, seed: int, shuffle: bool, rank: int, world: int):
    """One shuffled stream over all records, or a weighted mix of the sources."""
    if weights is None:
        return PromptSampler(sum(sizes), seed, shuffle, rank, world)
    return MixedSampler(sizes, weights, seed, shuffle, rank, world)
