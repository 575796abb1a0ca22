"""A model too big for a phone's RAM fails on the virtual phone as on a phone (it fails to
allocate, or the low-memory killer kills the tool) instead of growing the host process that
runs the virtual phones: the model runs in the phone's interpreter process, under a budget."""

from __future__ import annotations

import asyncio
import contextlib
import resource
from pathlib import Path

from contracts.failures import Blame, blame_for, kind_of
from device_agent import benchmark_output
from device_agent.virtual.benchmark.interpreter import pool_for
from tests.hostile.crafted import crafted
from tests.tflite_builder import build_tiny_model
from tests.virtual.test_benchmark_tool import BIN, FAST, MODEL, _run, bench, make
from worker.runner import out_of_memory


def test_a_model_needing_more_than_the_phones_ram_fails_to_allocate_and_blames_the_model(
    tmp_path: Path,
) -> None:
    dev = make(tmp_path, "msm8937")
    huge = crafted(dims=[1, 40_000, 40_000, 3], constant=False)  # 19 GB of activations in 300 bytes
    (dev.root / MODEL.lstrip("/")).write_bytes(huge)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rc, text = bench(dev, FAST)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert rc != 0 and "Failed to allocate tensors!" in text and "tensor arena" in text
    assert grown_mb < 200
    failure = benchmark_output.parse(text)
    assert isinstance(failure, benchmark_output.BenchmarkFailure) and failure.kind == "allocation"
    assert blame_for(failure.kind) == Blame.model  # never counted against the phone


def _peak_rss_reset() -> None:
    """VmHWM restarts from the current RSS (Linux: 5 written to clear_refs)."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} in /proc/self/status")


def test_a_model_with_huge_tensors_is_killed_like_on_a_phone_and_the_phone_process_stays_small(
    tmp_path: Path,
) -> None:
    dev = make(tmp_path, "msm8917")  # 0.9 GB of RAM: one process may use half
    assert dev.process_memory_kb == dev.profile.mem_total_kb // 2
    # 320 bytes whose declared tensors (183 MB) pass the allocation check, but ADD's output
    # takes the input's [1,4000,4000,3] at AllocateTensors: ~750 MB with the input it is fed
    huge = crafted(dims=[1, 4000, 4000, 3], constant=False)
    (dev.root / MODEL.lstrip("/")).write_bytes(huge)
    bench(dev, FAST)  # a warm interpreter process, as a phone serving runs has
    _peak_rss_reset()
    before = _status_mb("VmHWM")
    rc, text = bench(dev, FAST)
    grown_mb = _status_mb("VmHWM") - before
    assert rc == 137 and text.rstrip().endswith("Killed"), text[-500:]
    assert "Traceback" not in text and "Inference timings" not in text  # cut off, as lmkd leaves it
    assert grown_mb < 100, f"the phone-serving process grew {grown_mb:.0f} MB"
    lmk = [ln for ln in dev.logs.lines() if ln.tag == "lowmemorykiller"]
    assert lmk and "Kill 'benchmark_model'" in lmk[-1].message, lmk
    log = "\n".join(ln.format() for ln in dev.logs.lines())
    failure = benchmark_output.parse(text)
    assert isinstance(failure, benchmark_output.BenchmarkFailure) and failure.kind == "crash"
    error = out_of_memory(f"{failure.kind}: {failure.message} (exit {rc})", log)
    assert error is not None and kind_of(error) == "out_of_memory"
    assert blame_for(kind_of(error)) == Blame.model  # never counted against the phone
    (dev.root / MODEL.lstrip("/")).write_bytes(build_tiny_model())
    rc, text = bench(dev, FAST)  # a fresh interpreter process serves the next run
    assert rc == 0 and "Inference timings in us" in text


def test_a_killed_benchmark_model_shows_in_ps_and_takes_its_interpreter_process_with_it(
    tmp_path: Path,
) -> None:
    dev = make(tmp_path, "sdm845")
    long_run = f"{BIN} --graph={MODEL} --num_runs=100000000 --min_secs=120 --max_secs=150"

    async def scenario() -> tuple[int, str, list[int]]:
        running = asyncio.create_task(_run(dev, long_run))
        pids: list[int] = []
        for _ in range(600):  # the interpreter process starts and loads the model
            await asyncio.sleep(0.05)
            pids = pool_for(dev).busy_pids()
            if pids:
                break
        _, ps, _ = await _run(dev, "ps -A")
        await _run(dev, "pkill benchmark_model")  # by name: not the `sh -c` that started it
        rc, _, _ = await asyncio.wait_for(running, 30)
        return rc, ps, pids

    rc, ps, pids = asyncio.run(scenario())
    assert pids, "the run never had an interpreter process"
    assert "benchmark_model" in ps
    assert rc == 143  # SIGTERM, as mksh reports it
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists(), f"interpreter process {pid} outlived its benchmark_model"
    assert pool_for(dev).busy_pids() == []
    rc, text = bench(dev, FAST)  # the phone runs the next benchmark in a fresh process
    assert rc == 0 and "Inference timings in us" in text
