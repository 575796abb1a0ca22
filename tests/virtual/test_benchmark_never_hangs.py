"""A virtual phone's benchmark run never waits for ever, nor makes another run wait.

What the farm saw: a job whose runs never ended within the test's 180 s. A run's thread could
block where nothing reached it: in the event loop's default executor (6 threads on a 2-core
machine, shared by every phone of a fleet and by asyncio's own address lookups), and in the
interpreter process's start handshake and `reset`, which no kill reached and which had no bound.
Here a child that never answers is a SIGSTOPped one: alive, silent, as a hung child is.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from device_agent.virtual.benchmark import interpreter
from device_agent.virtual.benchmark.interpreter import InterpreterProcess, pool_for
from device_agent.virtual.device import Faults
from tests.virtual.test_benchmark_tool import BIN, FAST, MODEL, _run, make
from worker.runner import out_of_memory


def _gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()  # a zombie still has its /proc entry: reaped too


async def _until(predicate: object, timeout: float = 60.0) -> None:
    async def poll() -> None:
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


def _run_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("benchmark_model-")]


@pytest.fixture
def silent_children(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Every new interpreter process is stopped as soon as it is forked: it never answers."""
    started: list[int] = []
    original = InterpreterProcess.__init__

    def stopped(self: InterpreterProcess, budget_bytes: int) -> None:
        original(self, budget_bytes)
        os.kill(self.pid, signal.SIGSTOP)
        started.append(self.pid)

    monkeypatch.setattr(InterpreterProcess, "__init__", stopped)
    yield started
    for pid in started:  # never leave a stopped process behind, whatever the outcome
        if not _gone(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_hung_run_does_not_hold_up_a_run_on_another_phone(tmp_path: Path) -> None:
    """The loop's default executor with its threads all taken (one, here) must not matter."""
    hung = make(tmp_path, "sdm845", faults=Faults(benchmark_hang=True))
    other = make(tmp_path, "sm8550")

    async def scenario() -> tuple[int, str]:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=1))
        stuck = asyncio.create_task(_run(hung, f"{BIN} --graph={MODEL} {FAST}"))
        await _until(lambda: pool_for(hung).busy_pids())  # its run holds a thread, and hangs
        try:
            rc, out, err = await asyncio.wait_for(_run(other, f"{BIN} --graph={MODEL} {FAST}"), 120)
        finally:
            stuck.cancel()
            with pytest.raises(asyncio.CancelledError):
                await stuck
        return rc, out + err

    rc, text = asyncio.run(scenario())
    assert rc == 0 and "Inference timings in us" in text
    assert pool_for(hung).busy_pids() == []  # the hung run was killed with its process


def test_a_run_killed_while_its_interpreter_process_starts_takes_that_process_with_it(
    tmp_path: Path, silent_children: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's run timeout kills a run whose child never answered its start: the kill
    must reach that child (it is not the run's yet), not wait for a bound to pass."""
    monkeypatch.setattr(interpreter, "RESET_S", 3600.0)  # only the kill can end it
    dev = make(tmp_path, "sdm845")

    async def scenario() -> None:
        running = asyncio.create_task(_run(dev, f"{BIN} --graph={MODEL} {FAST}"))
        await _until(lambda: silent_children)
        running.cancel()  # what closing the adb stream does
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(running, 60)

    asyncio.run(scenario())
    (pid,) = silent_children
    assert _gone(pid), "the silent interpreter process outlived its killed benchmark_model"
    assert pool_for(dev).busy_pids() == []
    for thread in _run_threads():  # it said it ended: only its last instructions may be left
        thread.join(30)
        assert not thread.is_alive(), "the killed run's thread is still waiting on its child"


def test_an_interpreter_process_that_never_answers_ends_the_run_as_killed_not_as_out_of_memory(
    tmp_path: Path, silent_children: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(interpreter, "RESET_S", 1.0)
    dev = make(tmp_path, "sdm845")
    rc, _, err = asyncio.run(asyncio.wait_for(_run(dev, f"{BIN} --graph={MODEL} {FAST}"), 120))
    assert rc == 137 and "Killed" in err  # as a benchmark_model killed on a phone
    (pid,) = silent_children
    assert _gone(pid)
    _, log, _ = asyncio.run(_run(dev, "logcat -d"))
    assert "did not answer 'reset' within 1 s" in log
    assert "lowmemorykiller" not in log  # not the model's fault: the worker must not say so
    assert out_of_memory("benchmark_model exited with 137", log) is None
