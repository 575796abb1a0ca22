"""`benchmark_model` as a program of the phone's shell: streaming its lines, and how it ends.

Why here: the shell runs a pushed binary through the sh.programs registry (the stub file, or an
ELF for the phone's ABI). The run itself is a BenchmarkRun in a worker thread; this module
streams its lines to stderr and logcat, and turns the ends the shell sees into what a phone
shows:
- killed (`kill`, `pkill`, the adb connection dropped): the asyncio task is cancelled, the run
  is stopped and its interpreter process killed with it;
- out of memory: on Android the low-memory killer kills the process. The shell sees exit status
  137 and mksh's "Killed", the tool's output stops where it was, and logcat has lmkd's line,
  which is how the farm's worker tells a model that needs too much memory from a phone fault;
- an interpreter process that stops answering (interpreter.ChildHung) is killed: "Killed", 137,
  and a logcat line that says so (no lmkd line: it is the phone's fault, not the model's).

Why a thread of its own per run, not the event loop's default executor: the loop serves every
phone of a fleet, and its default executor (min(32, cpus + 4) threads: 6 on a 2-core CI machine)
is also what asyncio resolves addresses with. Runs that waited there queued behind each other
across all phones, and a run blocked in its thread (a hung benchmark, an interpreter process
that never answered) kept a thread of that pool; enough of them and every later run of every
phone of the fleet waited for ever. A run is a process on a phone, so it gets a thread, as a
process has one: nothing one run does can hold up another.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from device_agent.virtual import as_real
from device_agent.virtual.benchmark.interpreter import ChildDied, ChildHung, OutOfMemoryKill
from device_agent.virtual.benchmark.stub import STUB_MAGIC
from device_agent.virtual.benchmark.tool import SIGNAL_TEXT, BenchmarkRun
from device_agent.virtual.sh import programs
from device_agent.virtual.sh.api import IO

if TYPE_CHECKING:
    from device_agent.virtual.device import VirtualDevice

LMKD_PID = 283  # lmkd in the phone's process table (sh/procs.py)
SHELL_UID = 2000
KILLED_WAIT_S = 10.0  # how long a killed run's shell waits for its thread (and process) to end


def low_memory_kill(device: VirtualDevice, pid: int, rss_kb: int) -> None:
    """lmkd's line (Android 11+ userspace lmkd) for the killed tool, in the phone's logcat."""
    proc = device.procs.get(pid) if pid else None
    name = proc.name if proc is not None else "benchmark_model"
    free_kb = max(0, device.profile.mem_total_kb // 20)
    device.logs.add(
        "I",
        "lowmemorykiller",
        f"Kill '{name}' ({pid}), uid {SHELL_UID}, oom_score_adj 0 to free {rss_kb}kB rss, 0kB swap; "
        f"reason: low watermark is breached and swap is low (0kB < {free_kb}kB)",
        pid=LMKD_PID,
    )


async def _ended(queue: asyncio.Queue[bytes | None]) -> None:
    while await queue.get() is not None:
        pass


async def run(device: VirtualDevice, argv: list[str], io: IO, *, cwd: str = "/") -> int:
    """Run the tool in a thread of its own, streaming its lines; cancellable at any point."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    cancel = threading.Event()

    pid = getattr(device.procs.by_task(asyncio.current_task()), "pid", 0) if hasattr(device, "procs") else 0

    def post(item: bytes | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone (the fleet closed): nobody listens
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def emit(text: str) -> None:
        post(text.encode("utf-8", "replace"))
        if hasattr(device, "logs"):  # TFLite logs to logcat (tag tflite) as well as stderr
            device.logs.add_tool_output("tflite", text, pid=pid)

    bench = BenchmarkRun(device, argv, cwd, emit, cancel)

    def shell_says(text: str) -> None:  # mksh's words for a child killed by a signal (not logcat's)
        post(text.encode())

    ended: list[int | BaseException] = []

    def job() -> None:
        try:
            ended.append(bench.run())
        except OutOfMemoryKill as exc:
            low_memory_kill(device, pid, exc.rss_kb)
            shell_says(f"{SIGNAL_TEXT[9]} \n")
            ended.append(128 + 9)
        except ChildHung as exc:  # killed because it stopped answering: the phone's fault, not the model's
            if hasattr(device, "logs"):
                device.logs.add("E", "benchmark_model", f"{exc}: killed", pid=pid)
            shell_says(f"{SIGNAL_TEXT[9]} \n")
            ended.append(128 + 9)
        except ChildDied as exc:  # killed from outside (the host's OOM killer) or a native crash
            sig = exc.signal or 9
            if sig == 9:
                low_memory_kill(device, pid, 0)
            shell_says(f"{SIGNAL_TEXT.get(sig, f'Signal {sig}')} \n")
            ended.append(128 + sig)
        except BaseException as exc:  # the shell reports it as the default executor's future did
            ended.append(exc)
        finally:
            post(None)

    serial = getattr(device, "serial", "")
    threading.Thread(target=job, name=f"benchmark_model-{serial}-{pid}", daemon=True).start()
    try:
        while True:
            chunk = await queue.get()
            if chunk is None:
                break
            await io.err(chunk)
    except asyncio.CancelledError:
        bench.kill()  # the interpreter process dies with its benchmark_model
        # and is gone (reaped) when the shell says so: the run's thread ends at once once it is killed
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(_ended(queue), KILLED_WAIT_S)
        raise
    (status,) = ended
    if isinstance(status, BaseException):
        raise status
    return status


def _program(device: VirtualDevice, argv: list[str], io: IO, cwd: str) -> Awaitable[int]:
    return run(device, argv, io, cwd=cwd)


@programs.recognise
def _stub(device: VirtualDevice, head: bytes) -> programs.Program | None:
    """The legacy stub file runs as benchmark_model, except on a phone that runs binaries as real."""
    return _program if head.startswith(STUB_MAGIC) and not device.as_real else None


@programs.recognise
def _elf(device: VirtualDevice, head: bytes) -> programs.Program | str | None:
    """An ELF for this phone's ABIs runs as benchmark_model; any other is refused as mksh does."""
    if not head.startswith(b"\x7fELF"):
        return None
    refusal = as_real.exec_refusal(device, head)  # None: an ELF for this phone's ABIs
    return _program if refusal is None else refusal
