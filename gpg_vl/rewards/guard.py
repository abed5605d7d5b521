"""Bounds on the work a reward does with model output: length caps and a deadline.

A reward never raises on model output and always returns in bounded time (DESIGN.md,
"Contracts"). Two mechanisms make that true rather than hoped for:

1. Length caps, applied before any regex or parser sees the text. Every regex in this
   package is linear in its input, so capping the input bounds its time.
2. A deadline (`deadline(seconds)`) around symbolic maths (math-verify / sympy), whose
   running time is not bounded by input length.

The deadline works in any thread:

- main thread: `signal.setitimer` (sub-second, unlike math-verify's own `signal.alarm`,
  which only has whole seconds) raises `DeadlineExceeded` from a SIGALRM handler. The
  timer re-fires every `_REFIRE_S` so a library that swallows the first raise with a bare
  `except:` is interrupted again.
- other threads (signals cannot be used there): a `sys.settrace` hook checks the clock on
  every Python function call and raises once past the deadline. Slower, but thread-free.

Neither can interrupt one long C-level operation (e.g. a big-integer power), so callers
must also screen input for those (see `mathequal.sympy_safe`).
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

MAX_TEXT_CHARS = 20_000
"""Longest completion tail a rule reads. Completions are at most a few thousand tokens;
anything longer is hostile or runaway. The TAIL is kept because answers come last."""

MAX_ANSWER_CHARS = 4_096
"""Longest answer a rule parses (the tail of the extracted answer): a box, label, letter
or number written in more than this is not an answer, and parsers stay fast."""

_REFIRE_S = 0.02


class DeadlineExceeded(BaseException):
    """Raised inside guarded code when its time is up.

    A BaseException so that libraries' `except Exception:` blocks cannot swallow it.
    """


def clip_text(text: Any, limit: int = MAX_TEXT_CHARS) -> str:
    """The last `limit` characters of `text`; "" for anything that is not a string."""
    if not isinstance(text, str):
        return ""
    return text[-limit:] if len(text) > limit else text


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise `DeadlineExceeded` inside the block once `seconds` have passed."""
    on_main = threading.current_thread() is threading.main_thread()
    guard = _timer_deadline if on_main and hasattr(signal, "setitimer") else _trace_deadline
    with guard(seconds):
        yield


@contextmanager
def _timer_deadline(seconds: float) -> Iterator[None]:
    state = {"armed": True}

    def on_alarm(signum: int, frame: Any) -> None:
        if state["armed"]:
            raise DeadlineExceeded(f"exceeded {seconds:.3f} s")

    start = time.perf_counter()
    old_handler = signal.signal(signal.SIGALRM, on_alarm)
    old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, seconds, _REFIRE_S)
    try:
        yield
    finally:
        while True:  # the alarm may fire during clean-up itself: repeat until it is done
            try:
                state["armed"] = False
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, old_handler)
                break
            except DeadlineExceeded:
                continue
        if old_delay > 0:  # someone else's timer was running: give it back what is left
            left = max(old_delay - (time.perf_counter() - start), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, left, old_interval)


@contextmanager
def _trace_deadline(seconds: float) -> Iterator[None]:
    end = time.perf_counter() + seconds

    def tracer(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and time.perf_counter() > end:
            raise DeadlineExceeded(f"exceeded {seconds:.3f} s")
        return None  # no per-line tracing: only calls are checked

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(old)
