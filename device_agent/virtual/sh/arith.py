"""$(( )) arithmetic: integers, variables, + - * / % ** << >> & | ^ ~ !, comparisons, && ||,
?:, parentheses and assignments (= += -= *= /= %=, ++/-- on names).

A small precedence-climbing parser over tokens; never Python's eval. Division by zero and
bad tokens raise ArithError with mksh's wording.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_TOKEN = re.compile(
    r"\s*(?:(0[xX][0-9a-fA-F]+|\d+)|([A-Za-z_][A-Za-z0-9_]*)|"
    r"(\*\*|<<=|>>=|<<|>>|<=|>=|==|!=|&&|\|\||\+\+|--|[-+*/%&|^]=|[-+*/%()<>!~&|^?:=]))"
)
_BINARY: dict[str, tuple[int, Callable[[int, int], int]]] = {
    "||": (1, lambda a, b: int(bool(a) or bool(b))),
    "&&": (2, lambda a, b: int(bool(a) and bool(b))),
    "|": (3, lambda a, b: a | b),
    "^": (4, lambda a, b: a ^ b),
    "&": (5, lambda a, b: a & b),
    "==": (6, lambda a, b: int(a == b)),
    "!=": (6, lambda a, b: int(a != b)),
    "<": (7, lambda a, b: int(a < b)),
    ">": (7, lambda a, b: int(a > b)),
    "<=": (7, lambda a, b: int(a <= b)),
    ">=": (7, lambda a, b: int(a >= b)),
    "<<": (8, lambda a, b: a << (b & 63)),
    ">>": (8, lambda a, b: a >> (b & 63)),
    "+": (9, lambda a, b: a + b),
    "-": (9, lambda a, b: a - b),
    "*": (10, lambda a, b: a * b),
    "/": (10, lambda a, b: _div(a, b)),
    "%": (10, lambda a, b: _mod(a, b)),
    "**": (11, lambda a, b: a ** min(b, 64) if b >= 0 else 0),
}
_MASK = (1 << 64) - 1


class ArithError(Exception):
    pass


def _wrap(v: int) -> int:
    """64-bit two's complement, as mksh's arithmetic."""
    v &= _MASK
    return v - (1 << 64) if v >> 63 else v


def _div(a: int, b: int) -> int:
    if b == 0:
        raise ArithError("zero divisor")
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _mod(a: int, b: int) -> int:
    if b == 0:
        raise ArithError("zero divisor")
    return a - b * _div(a, b)


def evaluate(expr: str, get: Callable[[str], str], set_: Callable[[str, str], None]) -> int:
    toks: list[str] = []
    pos = 0
    expr = expr.strip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise ArithError(f"unexpected '{expr[pos:].strip()[:10]}'")
        toks.append(m.group(1) or m.group(2) or m.group(3))
        pos = m.end()
        while pos < len(expr) and expr[pos].isspace():
            pos += 1
    if len(toks) > 10_000:
        raise ArithError("expression too long")
    i = 0

    def peek() -> str | None:
        return toks[i] if i < len(toks) else None

    def take() -> str:
        nonlocal i
        if i >= len(toks):
            raise ArithError("unexpected end of expression")
        i += 1
        return toks[i - 1]

    def value(name: str) -> int:
        text = get(name).strip() or "0"
        try:
            return int(text, 0) if text.lower().startswith(("0x", "-0x")) else int(text)
        except ValueError:
            return evaluate(text, get, set_) if len(text) < 200 else 0

    def unary(depth: int) -> int:
        if depth > 200:
            raise ArithError("expression too deep")
        t = take()
        if t == "(":
            v = ternary(depth + 1)
            if take() != ")":
                raise ArithError("')' expected")
            return v
        if t in ("-", "+", "!", "~"):
            v = unary(depth + 1)
            return {"-": -v, "+": v, "!": int(not v), "~": ~v}[t]
        if t in ("++", "--"):
            name = take()
            v = value(name) + (1 if t == "++" else -1)
            set_(name, str(v))
            return v
        if t[0].isdigit():
            return (
                int(t, 0)
                if t.lower().startswith("0x")
                else int(t, 8)
                if len(t) > 1 and t[0] == "0"
                else int(t)
            )
        if re.fullmatch(r"[A-Za-z_]\w*", t):
            nxt = peek()
            if nxt == "=" or (nxt is not None and nxt.endswith("=") and nxt not in ("==", "!=", "<=", ">=")):
                op = take()
                rhs = ternary(depth + 1)
                v = rhs if op == "=" else _wrap(_BINARY[op[:-1]][1](value(t), rhs))
                set_(t, str(v))
                return v
            if nxt in ("++", "--"):
                take()
                v = value(t)
                set_(t, str(v + (1 if nxt == "++" else -1)))
                return v
            return value(t)
        raise ArithError(f"unexpected '{t}'")

    def binary(min_prec: int, depth: int) -> int:
        left = unary(depth)
        while (op := peek()) in _BINARY and _BINARY[op][0] >= min_prec:
            take()
            prec, fn = _BINARY[op]
            right = binary(prec + 1 if op != "**" else prec, depth + 1)
            left = _wrap(fn(left, right))
        return left

    def ternary(depth: int) -> int:
        cond = binary(1, depth)
        if peek() == "?":
            take()
            a = ternary(depth + 1)
            if take() != ":":
                raise ArithError("':' expected")
            b = ternary(depth + 1)
            return a if cond else b
        return cond

    if not toks:
        return 0
    result = ternary(0)
    if i != len(toks):
        raise ArithError(f"unexpected '{toks[i]}'")
    return result
