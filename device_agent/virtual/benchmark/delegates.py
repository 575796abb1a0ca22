"""Delegate application as the TFLite 2.16 runtime and tool log it.

Why apart from the tool: which nodes a GPU, NNAPI or XNNPACK delegate would take is derived
from the model's op list (the virtual delegates all execute on the host CPU), and the lines
("Replacing N out of M node(s)...", "Explicitly applied ... delegate") are what the farm's
parser reads for delegate coverage and CPU fallback.
"""

from __future__ import annotations

from typing import Any, Protocol

from device_agent.virtual.benchmark.interpreter_child import OpInfo


class Log(Protocol):
    def info(self, text: str) -> None: ...

    def error(self, text: str) -> None: ...


def apply(
    log: Log, label: str, kernel: str, supported: frozenset[str], ops: list[OpInfo], p: dict[str, Any]
) -> bool:
    """Log the delegate taking the nodes it supports; False when the spec forbids the fallback."""
    n = len(ops)
    ok = [op.name in supported for op in ops]
    taken = sum(ok)
    partitions = sum(1 for i, v in enumerate(ok) if v and (i == 0 or not ok[i - 1]))
    if taken:
        whole = " for the whole graph" if taken == n else ""
        log.info(
            f"Replacing {taken} out of {n} node(s) with delegate ({kernel}) node, yielding {partitions} "
            f"partitions{whole}."
        )
    if taken == n and n > 0:
        log.info(
            f"Explicitly applied {label} delegate, and the model graph will be completely executed by the delegate."
        )
    elif taken:
        if p["require_full_delegation"]:
            log.error("Disallowed CPU fallback detected.")
            return False
        log.info(
            f"Explicitly applied {label} delegate, and the model graph will be partially executed by the "
            f"delegate w/ {partitions} delegate kernels."
        )
    else:
        if p["require_full_delegation"]:
            log.error("Disallowed CPU fallback detected.")
            return False
        log.info(
            f"Though {label} delegate is explicitly applied, the model graph will not be executed by the delegate."
        )
    return True
