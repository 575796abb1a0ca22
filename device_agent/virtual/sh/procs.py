"""The phone's process table: the system's own daemons plus every shell and running command.

Why: tools find and stop a stray `benchmark_model` with `ps -A`, `pidof` and `kill`, and
Android's tests check that `$$` is a live process until the host hangs up. Each shell and
each command it runs gets a pid here while it runs; killing one cancels its asyncio task.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

SIGNALS: dict[str, int] = {
    "HUP": 1,
    "INT": 2,
    "QUIT": 3,
    "KILL": 9,
    "USR1": 10,
    "SEGV": 11,
    "USR2": 12,
    "PIPE": 13,
    "ALRM": 14,
    "TERM": 15,
    "CHLD": 17,
    "CONT": 18,
    "STOP": 19,
}


def signal_number(spec: str) -> int | None:
    """`9`, `KILL`, `SIGKILL` → 9; None if unknown."""
    s = spec.upper().removeprefix("SIG")
    if s.isdecimal():
        n = int(s)
        return n if 0 <= n < 65 else None
    return SIGNALS.get(s)


@dataclass
class Proc:
    pid: int
    ppid: int
    user: str
    name: str
    args: list[str]
    started: float = field(default_factory=time.time)
    state: str = "S"
    rss_kb: int = 3000
    vsz_kb: int = 10_800_000
    task: asyncio.Task[object] | None = None
    # A trapped signal: called instead of killing; returns True when handled.
    on_signal: Callable[[int], bool] | None = None
    killed_by: int = 0


# What a non-root `ps -A` shows on an idle phone (a representative subset).
_SYSTEM: tuple[tuple[int, int, str, str], ...] = (
    (1, 0, "root", "init"),
    (2, 0, "root", "[kthreadd]"),
    (170, 1, "root", "ueventd"),
    (283, 1, "lmkd", "lmkd"),
    (290, 1, "logd", "logd"),
    (291, 1, "system", "servicemanager"),
    (292, 1, "system", "hwservicemanager"),
    (540, 1, "root", "zygote64"),
    (600, 1, "system", "surfaceflinger"),
    (880, 540, "system", "system_server"),
    (912, 1, "shell", "adbd"),
    (1210, 540, "u0_a120", "com.android.systemui"),
    (1403, 1, "root", "thermal-engine"),
)
ADBD_PID = 912


class ProcessTable:
    def __init__(self) -> None:
        self.procs: dict[int, Proc] = {}
        for pid, ppid, user, name in _SYSTEM:
            self.procs[pid] = Proc(pid, ppid, user, name, [name])
        self._pids = itertools.count(4100)

    def spawn(
        self, name: str, args: list[str], *, ppid: int = ADBD_PID, user: str = "shell", task: object = None
    ) -> Proc:
        pid = next(self._pids)
        if pid > 32000:  # wrap like pid_max, skipping live pids
            self._pids = itertools.count(4100)
            pid = next(self._pids)
        while pid in self.procs:
            pid = next(self._pids)
        proc = Proc(pid, ppid, user, name, list(args), task=task)  # type: ignore[arg-type]
        self.procs[pid] = proc
        return proc

    def by_task(self, task: object) -> Proc | None:
        if task is None:
            return None
        return next((p for p in self.procs.values() if p.task is task), None)

    def exit(self, pid: int) -> None:
        self.procs.pop(pid, None)

    def get(self, pid: int) -> Proc | None:
        return self.procs.get(pid)

    def all(self) -> list[Proc]:
        return sorted(self.procs.values(), key=lambda p: p.pid)

    def children(self, pid: int) -> list[Proc]:
        return [p for p in self.procs.values() if p.ppid == pid]

    def kill(self, pid: int, sig: int = signal.SIGTERM) -> bool:
        """Deliver sig; False if no such process. Signal 0 only checks existence."""
        proc = self.procs.get(pid)
        if proc is None:
            return False
        if sig == 0:
            return True
        if proc.on_signal is not None and sig not in (9, 19) and proc.on_signal(sig):
            return True
        if proc.task is None:  # a system daemon: a non-root user may not signal it
            raise PermissionError(1, "Operation not permitted")
        for child in self.children(pid):
            self.kill(child.pid, sig)
        proc.killed_by = sig
        proc.task.cancel()
        return True
