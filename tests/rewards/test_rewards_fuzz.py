"""Hostile model output: every built-in rule returns a valid score, never raises, and
every single call finishes in bounded time (the deadline and length caps, not luck)."""

from __future__ import annotations

import math
import signal
import threading
import time

import pytest

from gpg_vl.rewards import RewardContext, get_reward
from gpg_vl.rewards.guard import DeadlineExceeded, deadline
from gpg_vl.rewards.mathequal import _math_verify
from rewards_helpers import hostile_completions, rec

N = 10_000
CTX = RewardContext([[(640, 480)]], [[(448, 336)]], model_family="qwen2_5_vl")
ANSWER_RECORDS = [rec("math", "2 \\sqrt { 221 }"), rec("choice", "B", ["97", "102", "107", "122"]),
                  rec("classification", "pink primrose"), rec("count", 3),
                  rec("math", "140°", meta={"precision": 1})]
PLAN = {  # rule -> (records it sees in rotation, highest valid score)
    "format": ([rec("math", "3")], 1.0),
    "format_boxed": ([rec("math", "3")], 1.0),
    "iou": ([rec("grounding", [64, 96, 320, 384])], 1.0),
    "giou": ([rec("grounding", [64, 96, 320, 384])], 2.0),
    "iou_hit": ([rec("grounding", [64, 96, 320, 384])], 1.0),
    "detection": ([rec("detection", [[64, 96, 320, 384], [0, 0, 10, 10]])], 1.0),
    "count": ([rec("count", 3)], 1.0),
    "answer_match": (ANSWER_RECORDS, 1.0),
}
WALL_LIMIT_S = 1.0   # generous for a shared 2-core machine; the budget itself is 0.3 s
CPU_LIMIT_S = 0.5    # the target: CPU time of the slowest call


@pytest.fixture(scope="module")
def corpus():
    _math_verify()  # one-time import and warm-up (~0.5 s) is not a per-call cost
    return hostile_completions(N, seed=1234)


def _run_rule(name, corpus, wall_limit=WALL_LIMIT_S, cpu_limit=CPU_LIMIT_S):
    fn = get_reward(name)
    records, top = PLAN[name]
    slowest_wall = slowest_cpu = 0.0
    for i, text in enumerate(corpus):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn([text], [records[i % len(records)]], CTX)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert len(out) == 1 and isinstance(out[0], float) and math.isfinite(out[0]), (name, i)
        assert 0.0 <= out[0] <= top, (name, i, out)
        slowest_wall, slowest_cpu = max(slowest_wall, wall), max(slowest_cpu, cpu)
    assert slowest_cpu < cpu_limit and slowest_wall < wall_limit, (name, slowest_cpu, slowest_wall)
    return slowest_wall


def test_fuzz_every_builtin_rule(corpus):
    assert len(corpus) >= 10_000
    assert sum(len(c) >= 1_000_000 for c in corpus) >= 10   # megabyte strings are in there
    slowest = {name: _run_rule(name, corpus) for name in PLAN}
    print(f"\nfuzz: {len(corpus)} completions x {len(slowest)} rules; slowest call per rule (s): "
          + ", ".join(f"{k}={v:.4f}" for k, v in slowest.items()))


def test_fuzz_in_a_worker_thread(corpus):
    """No signals outside the main thread: the trace-based deadline must hold instead."""
    errors = []

    def work():
        try:
            for name in ("answer_match", "iou", "format"):
                _run_rule(name, corpus[:600])
        except BaseException as exc:  # surfaced below, in the main thread
            errors.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive() and not errors, errors


def test_deadline_interrupts_python_loops_in_any_thread():
    def spin():
        def step():
            return 1
        while True:
            step()

    for runner in ("main", "thread"):
        box = {}

        def timed():
            start = time.perf_counter()
            try:
                with deadline(0.05):
                    spin()
            except DeadlineExceeded:
                box["elapsed"] = time.perf_counter() - start

        if runner == "main":
            timed()
        else:
            t = threading.Thread(target=timed)
            t.start()
            t.join(timeout=10)
        assert 0.04 < box["elapsed"] < 0.5, (runner, box)


def test_deadline_restores_an_outer_alarm():
    fired = []
    old = signal.signal(signal.SIGALRM, lambda *a: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with deadline(0.05):
            pass
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 0.1   # the outer timer is back
        time.sleep(0.4)
        assert fired == [True]                                  # and its handler with it
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
