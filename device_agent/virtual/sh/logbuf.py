"""The phone's log ring buffer, what `logcat` reads.

Why: when a benchmark fails on a real phone, `adb logcat -d` holds the reason (a delegate
that would not load, a process killed by the low-memory killer, a thermal shutdown). The
virtual phone writes the same kinds of lines here so the farm's capture-on-failure path is
exercised with something to capture. Bounded: the oldest lines fall out past `capacity`.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass

PRIORITIES = "VDIWEFS"


@dataclass(frozen=True)
class LogLine:
    seq: int
    when: float
    pid: int
    tid: int
    priority: str
    tag: str
    message: str

    def format(self, style: str = "threadtime") -> str:
        t = time.localtime(self.when)
        stamp = time.strftime("%m-%d %H:%M:%S", t) + f".{int(self.when % 1 * 1000):03d}"
        if style == "brief":
            return f"{self.priority}/{self.tag}({self.pid:5}): {self.message}"
        if style == "tag":
            return f"{self.priority}/{self.tag}: {self.message}"
        if style == "raw":
            return self.message
        if style == "time":
            return f"{stamp} {self.priority}/{self.tag}({self.pid:5}): {self.message}"
        return f"{stamp} {self.pid:5} {self.tid:5} {self.priority} {self.tag:<8}: {self.message}"


class LogBuffer:
    """Thread-safe (the benchmark tool logs from its worker thread)."""

    def __init__(self, capacity: int = 4096) -> None:
        self._lines: deque[LogLine] = deque(maxlen=capacity)
        self._seq = itertools.count()
        self._lock = threading.Lock()

    def add(self, priority: str, tag: str, message: str, *, pid: int = 0, tid: int | None = None) -> None:
        priority = priority if priority in PRIORITIES else "I"
        with self._lock:
            for text in message.splitlines() or [""]:
                self._lines.append(
                    LogLine(
                        next(self._seq), time.time(), pid, pid if tid is None else tid, priority, tag, text
                    )
                )

    def add_tool_output(self, tag: str, text: str, *, pid: int = 0) -> None:
        """A native tool's stderr lines ("INFO: ...", "ERROR: ...") with their priority."""
        for line in text.splitlines():
            if not line.strip():
                continue
            head = line.split(":", 1)[0].strip().upper()
            prio = {
                "VERBOSE": "V",
                "DEBUG": "D",
                "INFO": "I",
                "WARNING": "W",
                "ERROR": "E",
                "FATAL": "F",
            }.get(head)
            self.add(prio or "I", tag, line, pid=pid)

    def lines(self) -> list[LogLine]:
        with self._lock:
            return list(self._lines)

    def clear(self) -> None:
        with self._lock:
            self._lines.clear()
