"""What runs when the shell executes a file: the registry of programs, keyed by the file's head.

Why a registry: the shell must run a pushed benchmark binary (the stub, or a real ELF on a phone
that runs binaries as real) but must not import the benchmark tool, which is far above it. The
benchmark tool registers a recogniser here when imported (the device imports it, so any phone
that has a shell has it); the shell asks `find` and never names the tool.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from device_agent.virtual.sh.api import IO

if TYPE_CHECKING:
    from device_agent.virtual.device import VirtualDevice

# (device, argv, io, cwd) -> exit status: the program's main, run as a child process.
Program = Callable[["VirtualDevice", list[str], IO, str], Awaitable[int]]
# (device, the file's first 4096 bytes) -> a Program to run, a refusal (execve's error words,
# exit 126), or None: not this recogniser's kind of file.
Recogniser = Callable[["VirtualDevice", bytes], "Program | str | None"]

RECOGNISERS: list[Recogniser] = []


def recognise(fn: Recogniser) -> Recogniser:
    """Register a recogniser; they are asked in the order they were registered."""
    RECOGNISERS.append(fn)
    return fn


def find(device: VirtualDevice, head: bytes) -> Program | str | None:
    """The first recogniser's answer for this head, or None: the shell handles the file itself."""
    for fn in RECOGNISERS:
        found = fn(device, head)
        if found is not None:
            return found
    return None
