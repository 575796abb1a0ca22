"""The phone-serving side of the interpreter process: one long-lived child per phone, reused.

Why: the tool must never run a submitted model in the process that serves the phones (see
interpreter_child.py). Why a pool and not a fork per run: forking from a forkserver that has
LiteRT imported costs ~15 ms and a first model load more; the issue-12 target is 100 ms of
service overhead per run, so each phone keeps one idle child and a run pays only pipe round
trips (~25-50 us each). A child that died (killed with its benchmark_model, out of memory, or
idle too long) is replaced on the next run; a second concurrent run on one phone gets a child
of its own.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import signal
import threading
import weakref
from collections.abc import Callable
from multiprocessing import context, forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

from device_agent.virtual.benchmark import interpreter_child
from device_agent.virtual.benchmark.interpreter_child import Failed, OutOfMemory

if TYPE_CHECKING:
    from device_agent.virtual.device import VirtualDevice

IDLE_S = 600.0  # an idle child exits by itself after this long (idle, it holds ~10 MB of its own)
RECYCLE_KB = 128 * 1024  # a child whose data grew this much over its start is replaced after its run
START_S = 120.0
"""How long a child may take to be forked: the forkserver answers once it has imported LiteRT
(0.3-2 s; tens of seconds on a loaded 2-core machine). Past it, the run fails as a killed tool."""
RESET_S = 60.0
"""How long `reset` (dropping a run's interpreter, a gc pass: milliseconds) may take. The other
commands (load, allocate, invoke, ...) are the run itself and end when the run is killed; `reset`
is the pool's, where no kill reaches (before the run has its child, after it gave it back)."""

_CTX = multiprocessing.get_context("forkserver")
# Preloaded once in the forkserver (ignored if the forkserver already runs): every child starts
# with LiteRT and numpy imported. '__main__' is left out so a script's main is never re-imported.
_CTX.set_forkserver_preload([interpreter_child.__name__])


class _Popen(popen_forkserver.Popen):
    """The forkserver's Popen without the parent's main module: multiprocessing re-runs the
    parent's main script in every child (the farm CLI, a bench script: ~200 ms each); the
    child needs only interpreter_child, which the forkserver has imported."""

    def _launch(self, process_obj: Any) -> None:  # popen_forkserver.Popen._launch, 3.11, minus main
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data.pop("init_main_from_path", None)
        prep_data.pop("init_main_from_name", None)
        buf = io.BytesIO()
        context.set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            context.set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)  # type: ignore[attr-defined]
        _parent_w = os.dup(w)  # the child's sentinel of its parent
        self.finalizer = util.Finalize(self, util.close_fds, (_parent_w, self.sentinel))  # type: ignore[attr-defined]
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        # bounded: read_signed alone waits for ever on a forkserver that never forks
        if not wait([self.sentinel], START_S):
            self.finalizer()
            raise ChildHung("start", START_S)
        self.pid = forkserver.read_signed(self.sentinel)


class _Process(context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> _Popen:
        return _Popen(process_obj)


class ChildDied(Exception):
    """The interpreter process is gone (killed, crashed); `signal` is what killed it, if known."""

    def __init__(self, signal_number: int | None) -> None:
        super().__init__(f"interpreter process died (signal {signal_number})")
        self.signal = signal_number


class ChildHung(ChildDied):
    """The interpreter process did not answer `command` within `seconds`: it was killed (SIGKILL).
    On a phone this is a benchmark_model that stopped and was killed, never a run that waits for ever."""

    def __init__(self, command: str, seconds: float) -> None:
        super().__init__(int(signal.SIGKILL))
        self.args = (f"interpreter process did not answer {command!r} within {seconds:g} s",)
        self.command = command


class OutOfMemoryKill(Exception):
    """The interpreter process ran out of its memory budget: on a phone, lmkd kills it."""

    def __init__(self, rss_kb: int) -> None:
        super().__init__(f"interpreter process out of memory ({rss_kb} kB resident)")
        self.rss_kb = rss_kb


class InterpreterProcess:
    """A handle on one child: `call` runs a command there and returns its reply."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._conn, theirs = _CTX.Pipe()
        self._proc = _Process(
            target=interpreter_child.serve,
            args=(theirs, budget_bytes, IDLE_S),
            daemon=True,
            name="benchmark_model",
        )
        try:
            self._proc.start()
        except BaseException:
            self._conn.close()
            raise
        finally:
            theirs.close()
        self.start_data_kb = 0
        self._lock = threading.Lock()
        self._reaped = False

    @property
    def pid(self) -> int:
        return self._proc.pid or 0

    def alive(self) -> bool:
        return self._proc.is_alive()

    def call(self, command: str, *args: Any, timeout: float | None = None) -> Any:
        """One command's reply; raises OutOfMemoryKill, ChildDied, or the child's exception.
        With a timeout, a child that has not answered by then is killed: ChildHung."""
        conn: Connection = self._conn
        try:
            conn.send((command, args))
            if timeout is not None and not conn.poll(timeout):  # a dead child reads as EOF at once
                self.kill()
                raise ChildHung(command, timeout)
            reply = conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self._proc.join(5)
            code = self._proc.exitcode
            raise ChildDied(-code if code is not None and code < 0 else None) from None
        if isinstance(reply, OutOfMemory):
            raise OutOfMemoryKill(reply.rss_kb)
        if isinstance(reply, Failed):
            raise RuntimeError(reply.text)
        return reply

    def rss_kb(self) -> int:
        """The child's resident memory, read from /proc by the parent (no round trip)."""
        try:
            with open(f"/proc/{self.pid}/statm") as fh:
                return int(fh.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
        except (OSError, ValueError, IndexError):
            return 0

    def kill(self) -> None:
        """SIGKILL, as lmkd and `kill -9` do, from any thread; a waiting `call` then gets EOF.
        Only the owner reaps it (`close`), so the pid cannot have been reused meanwhile."""
        with self._lock:
            if not self._reaped and self._proc.pid is not None:
                with contextlib.suppress(ProcessLookupError, OSError):
                    os.kill(self._proc.pid, signal.SIGKILL)

    def close(self) -> None:
        """Kill, reap and hang up: by the thread that owns this child (its run, or the pool)."""
        self.kill()
        self._proc.join(5)
        with self._lock:
            self._reaped = True
        self._conn.close()


class InterpreterPool:
    """A phone's interpreter processes: at most one kept idle, more while runs overlap."""

    def __init__(self) -> None:
        self._idle: list[InterpreterProcess] = []
        self._busy: set[InterpreterProcess] = set()
        self._lock = threading.Lock()

    def acquire(
        self, budget_bytes: int, started: Callable[[InterpreterProcess], None] = lambda _child: None
    ) -> InterpreterProcess:
        """An idle child, or a new one; `started(child)` hears of a new one before its first
        answer, so that the run can kill it while it starts (the wait is bounded anyway)."""
        with self._lock:
            while self._idle:
                child = self._idle.pop()
                if child.alive() and child.budget_bytes == budget_bytes:
                    self._busy.add(child)
                    return child
                child.close()
        child = InterpreterProcess(budget_bytes)
        with self._lock:
            self._busy.add(child)
        started(child)
        try:
            child.start_data_kb = child.call("reset", timeout=RESET_S)
        except BaseException:
            self.release(child, healthy=False)
            raise
        return child

    def release(self, child: InterpreterProcess, *, healthy: bool) -> None:
        """Back to the pool after a run, or killed: when unhealthy, grown, or one is idle already."""
        with self._lock:
            self._busy.discard(child)
        if healthy and child.alive():
            try:
                grown = child.call("reset", timeout=RESET_S) - child.start_data_kb
            except (ChildDied, OutOfMemoryKill, RuntimeError):
                grown = RECYCLE_KB
            if grown < RECYCLE_KB:
                with self._lock:
                    if not self._idle:
                        self._idle.append(child)
                        return
        child.close()

    def busy_pids(self) -> list[int]:
        """The host pids of the interpreter processes serving runs now."""
        with self._lock:
            return [c.pid for c in self._busy]

    def close(self) -> None:
        """Kill every child, the running ones too (their runs end as killed, and reap them)."""
        with self._lock:
            idle, busy, self._idle, self._busy = self._idle, self._busy, [], set()
        for child in busy:
            child.kill()
        for child in idle:
            child.close()


_POOLS: weakref.WeakKeyDictionary[VirtualDevice, InterpreterPool] = weakref.WeakKeyDictionary()
_POOLS_LOCK = threading.Lock()
_warming = False


def prewarm() -> None:
    """Start the forkserver (it imports LiteRT: 0.3-2 s) in the background, once per process,
    so that a phone's first run forks its interpreter process in ~20 ms instead."""
    global _warming
    with _POOLS_LOCK:
        if _warming:
            return
        _warming = True
    threading.Thread(target=forkserver.ensure_running, daemon=True, name="interpreter-forkserver").start()


def pool_for(device: VirtualDevice) -> InterpreterPool:
    """The phone's pool; its children are killed when the phone is closed or collected."""
    with _POOLS_LOCK:
        pool = _POOLS.get(device)
        if pool is None:
            pool = _POOLS[device] = InterpreterPool()
            weakref.finalize(device, pool.close)
        return pool


def close_for(device: VirtualDevice) -> None:
    with _POOLS_LOCK:
        pool = _POOLS.pop(device, None)
    if pool is not None:
        pool.close()
