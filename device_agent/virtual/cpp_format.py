"""Numbers printed as TFLite's tools print them (C++ ostream defaults).

Why a module of its own: the benchmark tool and the op-profiling CSV both print doubles the
way C++ does, and op_profiling must not import the benchmark tool (which imports it).
"""

from __future__ import annotations

import math


def g(value: float) -> str:
    """A double as C++ ostream prints it by default (precision 6, %g)."""
    if math.isnan(value):
        return "nan" if not math.copysign(1, value) < 0 else "-nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:g}"
