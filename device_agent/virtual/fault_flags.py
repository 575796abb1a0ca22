"""`farm phone --fault NAME=VALUE`: the same fault names as `PhoneFleet`'s `Faults`, from text.

Why a parser of its own: a demo or a bench should be able to start a phone that is 3 %
slower, drops its connection after N bytes, or starts hot, without writing Python. Names
are exactly `Faults`' fields (plus `trial_slowdown`, the singular of `trial_slowdowns`,
which takes a comma-separated list); values are typed from the field and bounded.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from device_agent.virtual.device import Faults

_FIELDS = {f.name: f for f in dataclasses.fields(Faults)}
ALIASES = {"trial_slowdown": "trial_slowdowns"}
HELP = {
    "disconnect_after_bytes": "int: drop the connection after this many bytes",
    "hang": "bool: stop answering (the connection stays open)",
    "bandwidth_bytes_per_s": "int: throttle the link",
    "disconnect_during_benchmark": "bool: unplug in the middle of a benchmark",
    "benchmark_crash_signal": "int: benchmark_model dies with this signal (11 = SIGSEGV)",
    "benchmark_hang": "bool: benchmark_model never finishes",
    "heat_per_inference_mc": "float: heat per inference, milli-°C (host timing)",
    "ambient_c": "float: ambient temperature, °C",
    "tau_heat_s": "float: die thermal time constant, s",
    "tau_battery_s": "float: battery thermal time constant, s",
    "slowdown": "float: every inference this many times slower (1.03 = a 3 % regression)",
    "trial_slowdowns": "floats, comma-separated: one slowdown per coming invocation (alias trial_slowdown)",
    "hot": "float: the die is at least this hot, °C",
}
MAX_LIST = 1000


def names() -> list[str]:
    return list(_FIELDS)


def help_text() -> str:
    return "; ".join(f"{n} ({HELP.get(n, _FIELDS[n].type)})" for n in _FIELDS)


def _number(raw: str, kind: type, name: str) -> Any:
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"--fault {name}={raw!r}: expected a {kind.__name__}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"--fault {name}={raw!r}: expected a finite number")
    if value < 0:
        raise ValueError(f"--fault {name}={raw!r}: must not be negative")
    return value


def parse_faults(items: list[str], base: Faults | None = None) -> Faults:
    """Faults from `NAME=VALUE` items; unknown names and bad values raise ValueError with the reason."""
    faults = base or Faults()
    for item in items:
        name, sep, raw = item.partition("=")
        name = ALIASES.get(name.strip(), name.strip())
        raw = raw.strip()
        if not sep or name not in _FIELDS:
            raise ValueError(f"--fault {item!r}: expected NAME=VALUE with NAME one of {', '.join(names())}")
        kind = str(_FIELDS[name].type)
        value: Any
        if kind == "bool":
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(f"--fault {name}={raw!r}: expected true or false")
            value = raw.lower() in ("true", "1", "yes")
        elif kind.startswith("list"):
            parts = [p for p in raw.split(",") if p.strip()]
            if not parts or len(parts) > MAX_LIST:
                raise ValueError(f"--fault {name}: give 1 to {MAX_LIST} comma-separated numbers")
            value = [_number(p.strip(), float, name) for p in parts]
        elif "int" in kind:
            value = _number(raw, int, name) if raw.lower() != "none" else None
        else:
            value = _number(raw, float, name) if raw.lower() != "none" else None
        if name in ("slowdown",) and (value is None or value <= 0):
            raise ValueError(f"--fault {name}: must be positive")
        setattr(faults, name, value)
    return faults
