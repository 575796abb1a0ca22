"""The virtual benchmark_model: real LiteRT runs, TFLite 2.16's output format, failures, faults.

Every successful output is also fed to the farm's own parser (device_agent.benchmark_output),
so a format drift here shows up as a parse failure.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from pathlib import Path

import pytest

from device_agent import benchmark_output
from device_agent.virtual.benchmark_tool import STUB_MAGIC, Stat, g, stub_binary
from device_agent.virtual.device import Faults, VirtualDevice
from tests.tflite_builder import build_tiny_model

FAST = "--num_runs=5 --min_secs=0 --warmup_runs=2 --warmup_min_secs=0"
BIN = "/data/local/tmp/phonefarm/benchmark_model"
MODEL = "/data/local/tmp/phonefarm/tiny.tflite"


class Clock:
    def __init__(self) -> None:
        self.t = 50.0

    def __call__(self) -> float:
        return self.t


def make(tmp_path: Path, profile: str = "sdm845", **kw: object) -> VirtualDevice:
    dev = VirtualDevice.from_profile(profile, root=tmp_path / profile, **kw)  # type: ignore[arg-type]
    d = dev.root / "data/local/tmp/phonefarm"
    d.mkdir(parents=True)
    (d / "benchmark_model").write_bytes(stub_binary())
    (d / "benchmark_model").chmod(0o755)
    (d / "tiny.tflite").write_bytes(build_tiny_model())
    return dev


async def _run(dev: VirtualDevice, command: str) -> tuple[int, str, str]:
    out: list[bytes] = []
    err: list[bytes] = []

    async def w_out(b: bytes) -> None:
        out.append(b)

    async def w_err(b: bytes) -> None:
        err.append(b)

    rc = await dev.shell(command, w_out, w_err)
    return rc, b"".join(out).decode(), b"".join(err).decode()


def bench(dev: VirtualDevice, flags: str) -> tuple[int, str]:
    rc, out, err = asyncio.run(_run(dev, f"{BIN} --graph={MODEL} {flags}"))
    return rc, out + err


def test_stub_binary_is_small_text_with_magic() -> None:
    blob = stub_binary()
    assert blob.startswith(STUB_MAGIC) and len(blob) < 1024
    assert b"\0" not in blob
    assert stub_binary("9.9") != blob


def test_cpp_number_formatting() -> None:
    assert g(8680.33) == "8680.33"
    assert g(2950340.0) == "2.95034e+06"
    assert g(1.0) == "1"
    assert g(0.5) == "0.5"
    s = Stat([10, 20, 30])
    assert s.line() == "count=3 first=10 curr=30 min=10 max=30 avg=20 std=8"
    assert Stat([7]).line() == "count=1 curr=7"
    assert Stat([7, 7]).line() == "count=2 curr=7(all same)"


def test_default_run_prints_the_216_format_in_order(tmp_path: Path) -> None:
    dev = make(tmp_path)
    rc, text = bench(dev, f"--num_threads=2 {FAST}")
    assert rc == 0, text
    lines = text.splitlines()
    assert all(line.startswith(("INFO: ", "WARNING: ")) or line == "" for line in lines), text
    order = [
        "INFO: STARTING!",
        "INFO: [phonefarm-virtual] benchmark_model version: ",
        "INFO: Log parameter values verbosely: [0]",
        "INFO: Min num runs: [5]",
        "INFO: Num threads: [2]",
        f"INFO: Graph: [{MODEL}]",
        "INFO: #threads used for CPU inference: [2]",
        f"INFO: Loaded model {MODEL}",
        "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
        "INFO: The input model file size (MB): ",
        "INFO: Initialized session in ",
        "INFO: Running benchmark for at least 2 iterations and at least 0 seconds but terminate if exceeding 150 seconds.",
        "INFO: count=",
        "INFO: Running benchmark for at least 5 iterations and at least 0 seconds but terminate if exceeding 150 seconds.",
        "INFO: count=",
        "INFO: Inference timings in us: Init: ",
        "INFO: Note: as the benchmark tool itself affects memory footprint",
        "INFO: Memory footprint delta from the start of the tool (MB): init=",
    ]
    pos = 0
    for want in order:
        while pos < len(lines) and not lines[pos].startswith(want):
            pos += 1
        assert pos < len(lines), f"missing or out of order: {want!r}\n{text}"
        pos += 1
    assert "timing mode: host" in text and "sdm845" in text
    m = re.search(r"The input model file size \(MB\): (\S+)", text)
    assert m and float(m[1]) == pytest.approx(len(build_tiny_model()) / 1e6, rel=1e-5)
    stats = re.findall(r"^INFO: (count=\d+ .*)$", text, re.M)
    assert len(stats) == 2
    assert re.fullmatch(
        r"count=5 first=\d+ curr=\d+ min=\d+ max=\d+ avg=\S+ std=\d+|count=5 curr=\d+\(all same\)", stats[1]
    )

    result = benchmark_output.parse(text)
    assert isinstance(result, benchmark_output.BenchmarkResult), result
    assert result.format == "tflite2" and result.count == 5 and result.threads == 2
    assert result.avg_us > 0 and result.init_us is not None and result.init_us > 0
    assert result.delegate_requested is None  # no delegate flag was given
    assert result.model_size_mb is not None


def test_profile_mode_scales_host_time_and_says_so(tmp_path: Path) -> None:
    dev = make(tmp_path, "msm8937", timing_mode="profile")
    rc, text = bench(dev, f"--use_xnnpack=false {FAST}")
    assert rc == 0, text
    assert "timing mode: profile (host timings x 11, the profile's speed_factor for cpu, slowed by" in text
    assert dev.props()["ro.phonefarm.timing_mode"] == "profile"
    result = benchmark_output.parse(text)
    assert isinstance(result, benchmark_output.BenchmarkResult)
    assert result.delegate_requested == "cpu"
    # scaled: a tiny FC+ADD model takes well under 1 ms on any host; x11 keeps it above 11 us
    assert result.min_us is not None and result.min_us >= 11


def test_op_profiling_table_is_printed_and_marked_estimated(tmp_path: Path) -> None:
    dev = make(tmp_path)
    rc, text = bench(dev, f"--use_xnnpack=false --enable_op_profiling=true {FAST}")
    assert rc == 0, text
    assert "INFO: Enable op profiling: [1]" in text
    assert "Operator-wise Profiling Info for Regular Benchmark Runs:" in text
    assert "ESTIMATED" in text
    result = benchmark_output.parse(text)
    assert isinstance(result, benchmark_output.BenchmarkResult)
    types = {row.node_type for row in result.op_profile}
    assert types == {"FULLY_CONNECTED", "ADD"}
    assert sum(row.pct for row in result.op_profile) == pytest.approx(100, abs=0.01)
    assert [n.node_type for n in result.op_nodes] == ["FULLY_CONNECTED", "ADD"]


def test_peak_memory_is_reported_when_asked(tmp_path: Path) -> None:
    dev = make(tmp_path)
    rc, text = bench(dev, f"--report_peak_memory_footprint=true {FAST}")
    assert rc == 0
    assert re.search(r"^INFO: Overall peak memory footprint \(MB\) via periodic monitoring: \d", text, re.M)
    result = benchmark_output.parse(text)
    assert isinstance(result, benchmark_output.BenchmarkResult) and result.peak_memory_mb


def test_gpu_delegate_runs_on_host_and_says_so(tmp_path: Path) -> None:
    dev = make(tmp_path, "gs201")
    rc, text = bench(dev, f"--use_gpu=true --gpu_precision_loss_allowed=true {FAST}")
    assert rc == 0, text
    assert "INFO: Created TensorFlow Lite delegate for GPU." in text
    assert "execute on the host CPU, not a GPU" in text
    assert (
        "INFO: Explicitly applied GPU delegate, and the model graph will be completely executed by the delegate."
        in text
    )
    result = benchmark_output.parse(text)
    assert isinstance(result, benchmark_output.BenchmarkResult)
    assert (result.delegate_requested, result.delegate_applied, result.delegate_coverage) == (
        "gpu",
        "gpu",
        "full",
    )


def test_nnapi_on_android_7_is_not_applied(tmp_path: Path) -> None:
    dev = make(tmp_path, "msm8953")
    rc, text = bench(dev, f"--use_nnapi=true {FAST}")
    assert rc == 0
    assert (
        "Though NNAPI delegate is explicitly applied, the model graph will not be executed by the delegate."
        in text
    )
    result = benchmark_output.parse(text)
    assert isinstance(result, benchmark_output.BenchmarkResult)
    assert (result.delegate_requested, result.delegate_coverage, result.cpu_fallback) == (
        "nnapi",
        "none",
        True,
    )


def test_missing_gpu_delegate_fails_like_the_tool(tmp_path: Path) -> None:
    dev = make(tmp_path, "sdm845")
    object.__setattr__(dev.profile, "delegates", ("cpu", "xnnpack", "nnapi"))
    rc, text = bench(dev, f"--use_gpu=true {FAST}")
    assert rc == 1
    assert "ERROR: Failed to apply GPU delegate." in text
    assert text.rstrip().endswith("ERROR: Benchmarking failed.")
    result = benchmark_output.parse(text)
    assert isinstance(result, benchmark_output.BenchmarkFailure) and result.kind == "delegate"


def test_missing_model(tmp_path: Path) -> None:
    dev = make(tmp_path)
    rc, out, err = asyncio.run(_run(dev, f"{BIN} --graph=/data/local/tmp/none.tflite"))
    assert rc == 1 and out == ""
    assert "ERROR: Could not open '/data/local/tmp/none.tflite'." in err
    assert "ERROR: Failed to mmap model /data/local/tmp/none.tflite" in err
    result = benchmark_output.parse(err)
    assert isinstance(result, benchmark_output.BenchmarkFailure) and result.kind == "model_missing"


def test_model_outside_the_sandbox_is_not_read(tmp_path: Path) -> None:
    dev = make(tmp_path)
    rc, _, err = asyncio.run(_run(dev, f"{BIN} --graph=../../../../../../etc/passwd"))
    assert rc == 1 and "Could not open" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x01\x02\x03", "The model is not a valid Flatbuffer buffer"),
        (b"garbage!garbage-garbage", "Model provided has model identifier 'age!', should be 'TFL3'"),
    ],
)
def test_corrupt_model(tmp_path: Path, content: bytes, message: str) -> None:
    dev = make(tmp_path)
    (dev.root / "data/local/tmp/phonefarm/tiny.tflite").write_bytes(content)
    rc, text = bench(dev, FAST)
    assert rc == 1
    assert f"ERROR: {message}" in text
    result = benchmark_output.parse(text)
    assert isinstance(result, benchmark_output.BenchmarkFailure) and result.kind == "model_invalid"


def test_truncated_model_fails_cleanly(tmp_path: Path) -> None:
    dev = make(tmp_path)
    (dev.root / "data/local/tmp/phonefarm/tiny.tflite").write_bytes(build_tiny_model()[:200])
    rc, text = bench(dev, FAST)
    assert rc == 1 and "Benchmarking failed." in text
    assert isinstance(benchmark_output.parse(text), benchmark_output.BenchmarkFailure)


def test_bad_flag_value_prints_usage(tmp_path: Path) -> None:
    dev = make(tmp_path)
    rc, text = bench(dev, "--num_runs=many")
    assert rc == 1
    assert "ERROR: Failed to parse flag 'num_runs' against argv '--num_runs=many'" in text
    assert f"ERROR: usage: {BIN} <flags>" in text
    assert "\t--use_gpu=false" in text
    result = benchmark_output.parse(text)
    assert isinstance(result, benchmark_output.BenchmarkFailure) and result.kind == "bad_flag"


def test_unknown_flag_is_unconsumed_as_the_real_tool_does(tmp_path: Path) -> None:
    dev = make(tmp_path)
    rc, text = bench(dev, f"--frobnicate=1 {FAST}")
    assert rc == 0  # the real tool warns and goes on
    assert "WARNING: Unconsumed cmdline flags: --frobnicate=1" in text
    result = benchmark_output.parse(text)
    assert isinstance(result, benchmark_output.BenchmarkFailure) and result.kind == "bad_flag"


def test_no_graph(tmp_path: Path) -> None:
    dev = make(tmp_path)
    rc, _, err = asyncio.run(_run(dev, BIN))
    assert rc == 1 and "ERROR: Please specify the name of your TF Lite input file with --graph" in err


def test_stub_must_be_executable(tmp_path: Path) -> None:
    dev = make(tmp_path)
    (dev.root / "data/local/tmp/phonefarm/benchmark_model").chmod(0o644)
    rc, _, err = asyncio.run(_run(dev, f"{BIN} --graph={MODEL}"))
    assert rc == 126 and "can't execute: Permission denied" in err
    rc, _, _ = asyncio.run(_run(dev, f"chmod 755 {BIN} && {BIN} --graph={MODEL} {FAST}"))
    assert rc == 0


# ---- faults and cancellation ----------------------------------------------------------------------


def test_crash_signal(tmp_path: Path) -> None:
    dev = make(tmp_path, faults=Faults(benchmark_crash_signal=11))
    rc, text = bench(dev, FAST)
    assert rc == 139
    assert "Segmentation fault" in text and "Inference timings" not in text
    result = benchmark_output.parse(text)
    assert isinstance(result, benchmark_output.BenchmarkFailure) and result.kind == "crash"
    dev.faults.benchmark_crash_signal = 6
    rc, text = bench(dev, FAST)
    assert rc == 134 and "Aborted" in text


def test_disconnect_during_benchmark(tmp_path: Path) -> None:
    calls: list[str] = []
    dev = make(tmp_path, faults=Faults(disconnect_during_benchmark=True))
    dev.on_disconnect = lambda: calls.append(threading.current_thread().name)
    rc, text = bench(dev, FAST)
    assert calls and rc != 0
    assert "Running benchmark for at least 5 iterations" in text  # midway: after warmup
    assert "Inference timings" not in text


def test_hang_until_cancelled(tmp_path: Path) -> None:
    dev = make(tmp_path, faults=Faults(benchmark_hang=True))

    async def scenario() -> float:
        task = asyncio.create_task(_run(dev, f"{BIN} --graph={MODEL} {FAST}"))
        await asyncio.sleep(0.5)
        assert not task.done()
        start = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - start

    assert asyncio.run(scenario()) < 10  # promptly, not at the benchmark's end (never, here)


def test_cancelling_a_long_benchmark_stops_the_worker(tmp_path: Path) -> None:
    dev = make(tmp_path)

    async def scenario() -> None:
        task = asyncio.create_task(_run(dev, f"{BIN} --graph={MODEL} --num_runs=100000000 --min_secs=60"))
        deadline = time.monotonic() + 60  # until it has run an inference (its process may start slowly)
        while dev.thermal.die_c() <= dev.profile.thermal.ambient_c and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert dev.thermal.die_c() > dev.profile.thermal.ambient_c, "the benchmark never ran"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    time.sleep(1.0)  # let an inference in flight finish (generous: the machine may be loaded)
    heat = dev.thermal.die_c()
    time.sleep(0.3)
    # the worker thread stopped: no more inferences heat the phone (it only cools)
    assert dev.thermal.die_c() <= heat


def test_benchmark_heats_the_phone(tmp_path: Path) -> None:
    clock = Clock()
    dev = make(tmp_path, "sdm845", clock=clock)
    cool = dev.thermal.die_c()
    rc, _ = bench(dev, "--num_runs=300 --min_secs=0 --warmup_runs=1 --warmup_min_secs=0")
    assert rc == 0
    hot = dev.thermal.die_c()
    assert hot == pytest.approx(cool + 301 * dev.profile.thermal.heat_per_inference_mc / 1000, rel=1e-6)
    clock.t += 600
    assert dev.thermal.die_c() < cool + 0.1


def test_an_injected_inference_time_is_reported_whatever_the_host_load(tmp_path: Path) -> None:
    dev = make(tmp_path, faults=Faults(inference_us=2000.0, slowdown=1.5))
    rc, out = bench(dev, "--num_runs=20 --min_secs=0 --warmup_runs=1 --warmup_min_secs=0")
    assert rc == 0
    assert "every inference 2000 us on the phone's clock" in out
    avg = float(out.split("Inference (avg): ")[1].split()[0])
    assert 2700 < avg < 3300  # 2000 us x 1.5, with 2 % noise
