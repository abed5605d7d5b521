"""The value of a constant math answer (`8\\sqrt{3}`, `\\frac{24}{\\sqrt{3}}`, `(\\sqrt{3}+1)`,
`16\\pi`, `2\\sqrt{2}-2`), computed in floats without sympy.

Most geometry answers are constants built from numbers, radicals, pi and fractions. For
those, a float is decisive and costs microseconds, where math-verify costs tens of
milliseconds (and, on a loaded machine, sometimes more than the deadline, which refused
right answers). `constant_value(text)` reads normalised text (notation.normalize_math)
with a small recursive-descent parser:

    expr   := term (("+" | "-") term)*
    term   := factor (("*" | "/" | \\times | \\cdot | \\div | <juxtaposition>) factor)*
    factor := ("-" | "+") factor | atom ("^" atom)?
    atom   := number | \\pi | \\sqrt[n]{expr} | \\frac{expr}{expr} | (expr) | {expr} | [expr]

Anything else (a variable, a function, an unknown command) gives None and the caller
falls back to math-verify. Bounded: at most MAX_TOKENS tokens and MAX_DEPTH nesting;
exponents beyond MAX_EXPONENT, overflow, division by zero, and roots of negatives give None.
"""

from __future__ import annotations

import math
import re

MAX_TOKENS = 120
MAX_DEPTH = 12
MAX_EXPONENT = 64.0

_TOKEN = re.compile(r"\s*(\d+(?:\.\d+)?|\.\d+|\\[a-z]+|[-+*/^(){}\[\]])", re.ASCII)
_OPEN = {"(": ")", "{": "}", "[": "]"}
_MUL = {"*", "\\times", "\\cdot"}
_DIV = {"/", "\\div"}


class _Stop(Exception):
    """Not a constant this parser reads (or out of bounds)."""


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            if text[pos:].strip():
                raise _Stop
            break
        out.append(m.group(1))
        pos = m.end()
        if len(out) > MAX_TOKENS:
            raise _Stop
    return out


class _Parser:
    def __init__(self, tokens: list[str]):
        self.toks, self.k, self.depth = tokens, 0, 0

    def peek(self) -> str | None:
        return self.toks[self.k] if self.k < len(self.toks) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise _Stop
        self.k += 1
        return tok

    def expr(self) -> float:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Stop
        value = self.term()
        while self.peek() in ("+", "-"):
            value = value + self.term() if self.take() == "+" else value - self.term()
        self.depth -= 1
        return value

    def term(self) -> float:
        value = self.factor()
        while True:
            tok = self.peek()
            if tok in _MUL or tok in _DIV:
                self.take()
                right = self.factor()
                if tok in _DIV and right == 0:
                    raise _Stop
                value = value / right if tok in _DIV else value * right
            elif tok is not None and (tok[0].isdigit() or tok[0] == "." or tok in _OPEN
                                      or tok in ("\\pi", "\\sqrt", "\\frac")):
                value *= self.factor()  # juxtaposition: 8\sqrt{3}, 2(\sqrt{3}+1)
            else:
                return value

    def factor(self) -> float:
        if self.peek() in ("-", "+"):
            return -self.factor() if self.take() == "-" else self.factor()
        base = self.atom()
        if self.peek() != "^":
            return base
        self.take()
        exponent = self.atom()
        if abs(exponent) > MAX_EXPONENT or (base < 0 and exponent != int(exponent)) \
                or (base == 0 and exponent < 0):
            raise _Stop
        return base ** exponent

    def group(self) -> float:
        tok = self.take()
        if tok not in _OPEN:
            raise _Stop
        value = self.expr()
        self.take(_OPEN[tok])
        return value

    def atom(self) -> float:
        tok = self.peek()
        if tok is None:
            raise _Stop
        if tok in _OPEN:
            return self.group()
        self.take()
        if tok[0].isdigit() or tok[0] == ".":
            return float(tok)
        if tok == "\\pi":
            return math.pi
        if tok == "\\frac":
            num, den = self.group(), self.group()
            if den == 0:
                raise _Stop
            return num / den
        if tok == "\\sqrt":
            return self.root()
        raise _Stop

    def root(self) -> float:
        degree = 2.0
        if self.peek() == "[":
            degree = self.group()
            if degree not in (2.0, 3.0, 4.0):
                raise _Stop
        value = self.group() if self.peek() in _OPEN else self.atom()
        if value < 0:
            raise _Stop
        return value ** (1.0 / degree)


def constant_value(normalized: str) -> float | None:
    """The float value of a constant expression (module docstring), or None."""
    try:
        parser = _Parser(_tokens(normalized))
        if not parser.toks:
            return None
        value = parser.expr()
        if parser.peek() is not None:
            return None
    except (_Stop, OverflowError, ValueError, ZeroDivisionError, RecursionError):
        return None
    return value if isinstance(value, float) and math.isfinite(value) else None
