"""Math answer equivalence: numbers first, then normalised text, then math-verify.

Both sides go through `notation.normalize_math` first (unicode radicals, units, degree
signs, separators), and the answer through `statement.stated_answer` (the one value a
sentence states; hedges refuse). `math_equal(pred, gold)` then tries, cheapest first:

1. both sides are plain numbers (`parse_number`): compare with tolerance;
2. both sides are equal as normalised text without spacing;
3. both sides are constants (evaluate.constant_value: numbers, radicals, pi, fractions):
   compare their floats to within EXPRESSION_REL_TOL; microseconds, no sympy;
4. math-verify (sympy) symbolic equivalence, e.g. `x^2 - 1` vs `(x-1)(x+1)`, but
   only when BOTH sides are whole math (`notation.is_whole_math`). math-verify reads what
   it can and drops the rest (`8√{3}` -> 8, "either 40 or 140" -> 140), so text it would
   read only in part is compared by step 2 alone; `gold_parses(gold)` tells which golds
   are in that case (the rule counts them; the GeoQA / Geometry3K converters report them).

Units never change the value compared, but two different known units do (`5 mm` for a
gold `5cm` is wrong; `5` or `5 厘米` is right): see units.py.

Step 4 is the only one whose time is not bounded by input length, so it is fenced:
- `sympy_safe` refuses input sympy could turn into one huge C-level computation that no
  timeout can interrupt (power towers `9**9**9**9`, `10^{10^{10}}`, big exponents,
  factorials of big numbers), and anything longer than MAX_SYMPY_CHARS;
- math-verify's own timeouts are off (they use whole-second `signal.alarm`, which fails
  outside the main thread); instead all of step 4 runs under `guard.deadline`, which
  works in any thread (see guard.py). On timeout the answer is simply not equal.
Parsed expressions are cached (gold answers repeat every epoch, and a group's G
completions often repeat).
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

from .guard import DeadlineExceeded, deadline
from .evaluate import constant_value
from .notation import canonical_math, is_whole_math, normalize_math, units_conflict
from .numbers import numbers_equal, parse_number
from .statement import hedged, stated_answer

MAX_SYMPY_CHARS = 200
MATH_TIMEOUT_S = 0.3
"""Budget for step 3 per call; with the caps above the slowest call stays under 0.5 s."""
EXPRESSION_REL_TOL = 1e-9
"""Constants (`8\\sqrt{3}` vs `\\sqrt{192}`) are equal to within float rounding; a rounded
decimal (`13.86`, `13.8564`) is not the exact value it approximates."""
MAX_EXPONENT_PRODUCT = 10_000
MAX_NESTING = 8

_POWER = re.compile(r"\^|\*\*|\\?exp\b")
_LITERAL = re.compile(r"\d+(?:\.\d*)?(?:[eE][-+]?\d+)?", re.ASCII)
_FAST_GROWTH = re.compile(r"!|binom|choose|gamma|factorial|fib", re.IGNORECASE)
_OPERAND = re.compile(r"\\[a-zA-Z]+|[-+]?[0-9.]+(?:[eE][-+]?\d+)?|.", re.S)


def _group_end(s: str, start: int) -> int:
    """Index just past the bracket group opening at s[start] (or len(s) if unbalanced)."""
    depth = 0
    for k in range(start, len(s)):
        if s[k] in "{([":
            depth += 1
        elif s[k] in "})]":
            depth -= 1
            if depth == 0:
                return k + 1
    return len(s)


def _exponent_span(s: str, k: int) -> tuple[int, int]:
    """(start, end) of the operand that follows a power operator ending at index k."""
    while k < len(s) and s[k] == " ":
        k += 1
    if k < len(s) and s[k] in "{([":
        return k, _group_end(s, k)
    token = _OPERAND.match(s, k)
    return k, token.end() if token else k


def _max_depth(s: str) -> int:
    depth = deepest = 0
    for ch in s:
        if ch in "{([":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "})]":
            depth -= 1
    return deepest


def sympy_safe(text: str) -> bool:
    """Whether `text` is small and tame enough to hand to sympy.

    Quotes and chat-template tags never occur in maths (they are JSON or markup). Every power's exponent must be free of further powers (no towers), not be followed by
    another power (`a^b^c`), and the product of all numeric literals in all exponents must
    stay under MAX_EXPONENT_PRODUCT. Factorial-like operators only with <= 3-digit numbers.
    """
    if len(text) > MAX_SYMPY_CHARS or '"' in text or "<|" in text or "</" in text:
        return False
    if _max_depth(text) > MAX_NESTING:
        return False
    if _FAST_GROWTH.search(text) and re.search(r"\d{4}", text):
        return False
    product = 1.0
    for op in _POWER.finditer(text):
        start, end = _exponent_span(text, op.end())
        exponent = text[start:end]
        if _POWER.search(exponent) or _POWER.match(text[end:].lstrip()):
            return False
        for literal in _LITERAL.findall(exponent):
            product *= max(float(literal), 1.0)
        if product > MAX_EXPONENT_PRODUCT:
            return False
    return True


class _QuietTimeoutWarning(logging.Filter):
    """math-verify warns that its timeouts are off; ours (guard.deadline) are on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Timeout is disabled")


@lru_cache(maxsize=1)
def _math_verify() -> tuple[Any, Any]:
    """Import math-verify on first use (it pulls in sympy: ~0.5 s) and warm it up."""
    from math_verify import parse, verify

    for name in ("math_verify.parser", "math_verify.grader"):
        logging.getLogger(name).addFilter(_QuietTimeoutWarning())
    for a, b in (("\\frac{1}{2}", "0.5"), ("\\sqrt{3}+1", "(1+\\sqrt{3})"), ("x^2-1", "(x-1)(x+1)")):
        verify(parse(f"${a}$", parsing_timeout=None), parse(f"${b}$", parsing_timeout=None),
               timeout_seconds=None)  # sympy imports parts lazily: pay that here, not under a deadline
    return parse, verify


@lru_cache(maxsize=8192)
def _parsed(text: str) -> tuple[Any, ...]:
    parse, _ = _math_verify()
    return tuple(parse(f"${text}$", parsing_timeout=None))


def symbolic_equal(pred: str, gold: str, timeout_s: float = MATH_TIMEOUT_S) -> bool:
    """math-verify equivalence under a deadline; False when unsafe, unparsable or slow."""
    if not (sympy_safe(pred) and sympy_safe(gold)):
        return False
    _math_verify()  # import and warm up outside the deadline (once per process)
    return _symbolic_equal_cached(pred, gold, timeout_s)


@lru_cache(maxsize=16384)
def _symbolic_equal_cached(pred: str, gold: str, timeout_s: float) -> bool:
    """Cached, timeouts included: text that needed the whole budget once will again."""
    _, verify = _math_verify()
    try:
        with deadline(timeout_s):
            gold_expr, pred_expr = _parsed(gold), _parsed(pred)
            if not gold_expr or not pred_expr:
                return False
            return bool(verify(list(gold_expr), list(pred_expr), timeout_seconds=None))
    except (DeadlineExceeded, Exception):
        return False


@lru_cache(maxsize=4096)
def gold_parses(gold: str) -> bool:
    """Whether a gold answer, normalised, is whole math that math-verify reads in full (or
    a plain number). False: it is compared as normalised text only."""
    norm = normalize_math(str(gold))
    return parse_number(norm) is not None or is_whole_math(norm)


def math_equal(pred: str, gold: Any, rel_tol: float = 1e-6, precision: int | None = None,
               timeout_s: float = MATH_TIMEOUT_S) -> bool:
    """Whether answer `pred` equals `gold` (a number or loose LaTeX); see module docstring."""
    gold_raw = str(gold).strip()
    gold_text = normalize_math(gold_raw)
    if not isinstance(pred, str) or not pred.strip() or not gold_text:
        return False
    if canonical_math(pred) == canonical_math(gold_text) and not units_conflict(pred, gold_raw) \
            and not hedged(pred):
        return True
    stated = stated_answer(pred, split_equals="=" not in gold_text)
    if stated is None or units_conflict(stated, gold_raw):
        return False
    pred_text = normalize_math(stated)
    a, b = parse_number(pred_text), parse_number(gold_text)
    if a is not None and b is not None:
        return numbers_equal(a, b, rel_tol, precision)
    if canonical_math(pred_text) == canonical_math(gold_text):
        return True
    if not (is_whole_math(pred_text) and is_whole_math(gold_text)):
        return False
    va, vb = constant_value(pred_text), constant_value(gold_text)
    if va is not None and vb is not None:  # constants: floats decide, exactly enough
        return numbers_equal(va, vb, min(rel_tol, EXPRESSION_REL_TOL), precision)
    return symbolic_equal(pred_text, gold_text, timeout_s)
