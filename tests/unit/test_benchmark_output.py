"""benchmark_output.parse over the formats of many releases, prefixes, and failures.

Samples under tests/unit/data/benchmark/: ``litert_py_2.3.0_*`` were captured on this
machine from ai-edge-litert 2.3.0's ``litert-benchmark``; the others are written from the
tool's public source (benchmark_model.cc, stats_calculator.h, benchmark_litert_model.h)
and published runs of several releases, with their numbers.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from device_agent.benchmark_output import (
    FAILURE_KINDS,
    BenchmarkFailure,
    BenchmarkResult,
    parse,
)

DATA = Path(__file__).parent / "data" / "benchmark"


def ok(text: str) -> BenchmarkResult:
    r = parse(text)
    assert isinstance(r, BenchmarkResult), r
    return r


def fail(text: str) -> BenchmarkFailure:
    r = parse(text)
    assert isinstance(r, BenchmarkFailure), r
    assert r.kind in FAILURE_KINDS
    return r


def sample(name: str) -> str:
    return (DATA / name).read_text()


TFLITE2_MIN = """\
Running benchmark for at least 1 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
count=12 first=5012 curr=4100 min=4010 max=5012 avg=4222.5 std=270

Running benchmark for at least 50 iterations and at least 1 seconds but terminate if exceeding 150 seconds.
count=50 first=4150 curr=4090 min=4001 max=4420 avg=4120.7 std=61

Inference timings in us: Init: 2517, First inference: 5012, Warmup (avg): 4222.5, Inference (avg): 4120.7
"""


# ---- formats -----------------------------------------------------------------------------


def test_tflite_1_12_fixed_iterations_and_all_same_warmup() -> None:
    r = ok(sample("tflite_1.12_nnapi_off.txt"))
    assert r.format == "tf1"
    assert (r.avg_us, r.init_us, r.warmup_avg_us) == (137722, 4452, 146161)
    assert (r.count, r.min_us, r.max_us, r.std_us) == (50, 137079, 143416, 896)
    # warm-up line "count=1 curr=146161" has no min/max/avg: all equal to curr
    assert r.warmup is not None and r.warmup.count == 1 and r.warmup.all_same
    assert r.warmup.avg_us == r.warmup.min_us == 146161 and r.warmup.std_us == 0
    assert r.first_inference_us == 146161
    assert r.threads == 1 and r.delegate_requested is None
    assert r.params["Use nnapi"] == "0"  # "Use nnapi : [0]" with a space before the colon
    assert r.model_path == "/data/local/tmp/mobilenet_v1_1.0_224_quant.tflite"


def test_tflite_1_14_min_secs_blocks() -> None:
    r = ok(sample("tflite_1.14_min_secs.txt"))
    assert r.format == "tf1"
    assert r.avg_us == 2177.1 and r.warmup_avg_us == 2331.42 and r.init_us == 896
    assert r.count == 459 and r.warmup_count == 215
    assert r.first_inference_us == 12231
    assert r.delegate_requested == "nnapi"
    assert r.delegate_applied is None  # 1.14 says nothing about what ran: unknown, not guessed


def test_tflite_1_15_android_app_in_logcat_brief_format() -> None:
    r = ok(sample("tflite_1.15_android_app_logcat.txt"))
    assert r.format == "tf1"
    # "Inference: 80660.1Overall max resident set size = ..." (no separator in that release)
    assert r.avg_us == 80660.1 and r.warmup_avg_us == 91471 and r.init_us == 4108
    assert r.count is None and r.min_us is None
    assert r.delegates_created == ["nnapi"] and r.delegate_applied == "nnapi"


def test_full_tensorflow_benchmark_picks_the_no_stats_block() -> None:
    r = ok(sample("tf_1.x_full_tensorflow_glog.txt"))
    assert r.format == "tf1"
    assert r.avg_us == 23601
    assert r.count == 424 and r.min_us == 20873  # the no-stats block, not the with-stats one
    assert r.warmup is not None and r.warmup.count == 2
    assert r.threads == -1
    assert r.init_us is None


def test_tflite_2_4_gpu_with_op_profiling() -> None:
    r = ok(sample("tflite_2.4_gpu_full_op_profiling.txt"))
    assert r.format == "tflite2"
    assert (r.init_us, r.first_inference_us, r.warmup_avg_us, r.avg_us) == (1451507, 11147, 8779.68, 8680.33)
    assert (r.count, r.min_us, r.max_us, r.std_us) == (110, 7863, 10688, 591)
    assert r.memory_init_mb == 63.4883 and r.memory_overall_mb == 63.4883  # "Peak memory footprint (MB)"
    assert r.peak_memory_mb is None
    assert r.delegate_requested == "gpu" and r.delegate_applied == "gpu"
    assert r.delegate_coverage == "full" and not r.cpu_fallback
    assert r.threads == 4 and r.model_size_mb == 4.27635
    # the regular runs' tables, not the initialization ones (ModifyGraphWithDelegate)
    assert [row.node_type for row in r.op_profile] == [
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "AVERAGE_POOL_2D",
        "SOFTMAX",
    ]
    conv = r.op_profile[0]
    assert (conv.count, conv.avg_ms, conv.pct, conv.cdf_pct, conv.times_called) == (
        1,
        4.605,
        53.051,
        53.051,
        1,
    )
    assert math.isclose(sum(row.pct for row in r.op_profile), 100.0, abs_tol=0.01)
    assert len(r.op_nodes) == 4 and r.op_nodes[0].name == "[MobilenetV1/Conv2d_0/Relu6]:0"
    assert r.op_nodes[1].first_ms == 2.201 and r.op_nodes[1].avg_ms == 2.19


def test_recent_build_with_percentiles_scientific_avg_and_info_prefix() -> None:
    r = ok(sample("litert_2.1x_xnnpack_percentiles_op_profiling.txt"))
    assert r.format == "tflite2"
    assert r.avg_us == 2.95034e06 and r.warmup_avg_us == pytest.approx(3512391)
    assert (r.p5_us, r.median_us, r.p95_us) == (2736011, 2944120, 3150331)
    assert r.count == 30 and r.std_us == 109798
    assert r.warmup is not None and r.warmup.all_same and r.warmup.median_us == 3512391
    assert (r.memory_init_mb, r.memory_overall_mb, r.peak_memory_mb) == (4.21094, 46.0859, 52.5156)
    assert r.delegate_requested == "xnnpack" and r.delegate_applied == "xnnpack"
    assert r.delegate_coverage == "full"
    assert r.threads == 2
    # tables without the [start] column of older builds
    assert [row.node_type for row in r.op_profile][:2] == ["CONV_2D", "DEPTHWISE_CONV_2D"]
    assert r.op_nodes[0].first_ms == 4.912 and r.op_nodes[0].avg_ms == 4.605


def test_gpu_partially_delegated_in_logcat_threadtime() -> None:
    r = ok(sample("tflite_2.x_gpu_partial_logcat.txt"))
    assert r.format == "tflite2"
    assert r.avg_us == 21702.8 and r.count == 50 and r.init_us == 281203
    assert r.delegate_applied == "gpu" and r.delegate_coverage == "partial"
    assert r.delegate_kernels == 4 and r.cpu_fallback
    assert r.memory_init_mb == 22.1836 and r.memory_overall_mb == 31.4023
    assert r.threads == 4


def test_litert_compiled_model_tool_cc_block_in_ms() -> None:
    r = ok(sample("litert_cc_compiled_model_gpu.txt"))
    assert r.format == "litert"
    # stat lines in microseconds are preferred to the block's rounded milliseconds
    assert r.avg_us == 11902.5 and r.min_us == 11655 and r.std_us == 151 and r.count == 84
    assert r.median_us == 11880 and r.p95_us == 12190
    assert r.init_us == pytest.approx(812400)
    assert r.first_inference_us == 30121 and r.warmup_avg_us == 12301.2
    assert (r.memory_init_mb, r.memory_overall_mb, r.peak_memory_mb) == (38.21, 61.77, 70.02)
    assert r.delegate_requested == "gpu" and r.delegate_applied == "gpu"


def test_litert_python_tool_captured_here() -> None:
    r = ok(sample("litert_py_2.3.0_cpu.txt"))
    assert r.format == "litert"
    assert r.avg_us == pytest.approx(270) and r.count == 20
    assert r.init_us == pytest.approx(1190) and r.first_inference_us == pytest.approx(240)
    assert r.warmup_avg_us == pytest.approx(120)
    assert (r.min_us, r.max_us) == (pytest.approx(70), pytest.approx(3640))
    assert (
        r.median_us == pytest.approx(70) and r.p5_us == pytest.approx(70) and r.p95_us == pytest.approx(340)
    )
    assert r.threads == 2
    assert r.delegate_requested == "cpu" and r.delegate_applied == "xnnpack"
    assert r.delegate_coverage == "full" and not r.cpu_fallback  # "Fully accelerated: True"


def test_litert_block_alone() -> None:
    text = """\
========================================
 BENCHMARK RESULTS
========================================
Model initialization:  10.50 ms
Warmup (first):        3.25 ms
Warmup (avg):          2.00 ms (5 runs)
Inference (avg):       1.75 ms (50 runs)
Inference (min):       1.50 ms
Inference (max):       2.50 ms
Inference (std):       0.10 ms
Fully accelerated:     False
========================================
"""
    r = ok(text)
    assert r.format == "litert"
    assert r.avg_us == pytest.approx(1750) and r.count == 50 and r.init_us == pytest.approx(10500)
    assert r.std_us == pytest.approx(100)
    assert r.delegate_coverage == "partial" and r.cpu_fallback


def test_minimal_tflite2_without_params_echo() -> None:
    r = ok(TFLITE2_MIN)
    assert r.avg_us == 4120.7 and r.count == 50 and r.warmup_count == 12
    assert r.delegate_applied == "cpu" and r.delegate_requested is None
    assert r.op_profile == [] and r.memory_init_mb is None


def test_noise_around_and_crlf_from_adb() -> None:
    noisy = (
        "WARNING: linker: /data/local/tmp/benchmark_model: unused DT entry: type 0x6ffffef5\r\n"
        "some vendor driver chatter\r\n" + TFLITE2_MIN.replace("\n", "\r\n") + "adreno: bye\r\n"
    )
    assert ok(noisy).avg_us == 4120.7


def test_summary_printed_twice_takes_the_last() -> None:
    text = TFLITE2_MIN + TFLITE2_MIN.replace("4120.7", "4000.5")
    assert ok(text).avg_us == 4000.5


def test_absl_and_glog_prefixes() -> None:
    lines = [
        "I0000 00:00:1795572449.778432   16436 benchmark_model.cc:180] " + ln if ln else ln
        for ln in TFLITE2_MIN.splitlines()
    ]
    assert ok("\n".join(lines)).count == 50


def test_extra_keys_in_a_future_stat_line_are_kept() -> None:
    text = TFLITE2_MIN.replace("avg=4120.7 std=61", "avg=4120.7 std=61 p90=4300 p99=4400")
    r = ok(text)
    assert r.inference is not None and r.inference.extra == {"p90": 4300, "p99": 4400}


def test_all_same_measured_block() -> None:
    text = TFLITE2_MIN.replace(
        "count=50 first=4150 curr=4090 min=4001 max=4420 avg=4120.7 std=61", "count=50 curr=4100(all same)"
    ).replace("Inference (avg): 4120.7", "Inference (avg): 4100")
    r = ok(text)
    assert (r.min_us, r.max_us, r.std_us, r.count) == (4100, 4100, 0, 50)


def test_tf1_old_ordering_curr_first() -> None:
    text = """\
Running benchmark for 1 iterations
curr=120 count=1
Running benchmark for 50 iterations
curr=100 count=50 min=95 max=140 avg=101.5 std=4
Average inference timings in us: Warmup: 120, Init: 30, no stats: 101.5
"""
    r = ok(text)
    assert r.count == 50 and r.min_us == 95 and r.avg_us == 101.5


def test_earliest_average_first_layout() -> None:
    r = ok("Average inference timings in us: 137722 , Warmup: 146161, \n")
    assert r.avg_us == 137722 and r.warmup_avg_us == 146161


def test_delegate_graph_not_executed_falls_back_to_cpu() -> None:
    text = (
        "Use gpu: [1]\n"
        "INFO: Created TensorFlow Lite delegate for GPU.\n"
        "Though GPU delegate is explicitly applied, the model graph will not be executed by the delegate.\n"
        + TFLITE2_MIN
    )
    r = ok(text)
    assert r.delegate_requested == "gpu"
    assert r.delegate_applied == "cpu" and r.delegate_coverage == "none" and r.cpu_fallback


def test_delegate_fallback_with_xnnpack_on_cpu() -> None:
    text = (
        "Use gpu: [1]\nCreated TensorFlow Lite XNNPACK delegate for CPU.\n"
        "Though GPU acceleration is enabled, the model has no node that can be accelerated by the GPU\n"
        + TFLITE2_MIN
    )
    r = ok(text)
    assert r.delegate_applied == "xnnpack" and r.cpu_fallback and r.delegate_coverage == "none"


def test_nnapi_fully_applied_out_of_n_nodes() -> None:
    text = (
        "Use NNAPI: [1]\nCreated TensorFlow Lite delegate for NNAPI.\n"
        "Replacing 31 out of 31 node(s) with delegate (TfLiteNnapiDelegate) node, yielding 1 partitions "
        "for the whole graph.\n" + TFLITE2_MIN
    )
    r = ok(text)
    assert r.delegate_requested == "nnapi" and r.delegate_applied == "nnapi"
    assert r.delegate_coverage == "full" and not r.cpu_fallback


def test_xnnpack_disabled_means_cpu_reference_kernels() -> None:
    r = ok("Use xnnpack: [0]\n" + TFLITE2_MIN)
    assert r.delegate_requested == "cpu" and r.delegate_applied == "cpu"


def test_tool_version_line_when_printed() -> None:
    assert ok("TensorFlow Lite version: 2.16.1\n" + TFLITE2_MIN).tool_version == "2.16.1"
    assert ok("LiteRT version: [1.4.0]\n" + TFLITE2_MIN).tool_version == "1.4.0"
    assert ok(TFLITE2_MIN).tool_version is None


# ---- failures ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "needle"),
    [
        (
            "STARTING!\nGraph: [/data/local/tmp/gone.tflite]\n"
            "ERROR: Could not open '/data/local/tmp/gone.tflite'.\n"
            "ERROR: Failed to mmap model /data/local/tmp/gone.tflite\n",
            "model_missing",
            "Could not open",
        ),
        (
            "STARTING!\nERROR: The model is not a valid Flatbuffer buffer\n"
            "ERROR: Failed to mmap model /data/local/tmp/bad.tflite\n",
            "model_invalid",
            "not a valid Flatbuffer",
        ),
        (
            "ERROR: Model provided has model identifier 'TFL2', should be 'TFL3'\n",
            "model_invalid",
            "model identifier",
        ),
        (
            "ERROR: Didn't find op for builtin opcode 'CONV_2D' version '6'. An older version of this "
            "builtin might be supported. Are you using an old TFLite binary with a newer model?\n"
            "ERROR: Registration failed.\nFailed to initialize the interpreter\n",
            "unsupported_op",
            "Didn't find op for builtin opcode 'CONV_2D'",
        ),
        (
            "ERROR: Select TensorFlow op(s), included in the given model, is(are) not supported by this "
            "interpreter. Make sure you apply/link the Flex delegate before inference.\n"
            "ERROR: Node number 5 (FlexConv2D) failed to prepare.\n",
            "unsupported_op",
            "Select TensorFlow op",
        ),
        (
            "INFO: Created TensorFlow Lite delegate for GPU.\n"
            "ERROR: TfLiteGpuDelegate Init: MAX_POOL_WITH_ARGMAX: Operation is not supported.\n"
            "ERROR: Failed to apply GPU delegate.\n",
            "delegate",
            "TfLiteGpuDelegate Init",
        ),
        ("ERROR: Failed to apply XNNPACK delegate.\n", "delegate", "XNNPACK"),
        ("ERROR: Disallowed CPU fallback detected.\n", "delegate", "Disallowed CPU fallback"),
        ("ERROR: Failed to allocate tensors!\n", "allocation", "allocate"),
        ("ERROR: Node number 12 (CONV_2D) failed to invoke.\n", "invoke", "failed to invoke"),
        (
            "Running benchmark for at least 1 iterations\n/system/bin/sh: <stdin>[1]: "
            "/data/local/tmp/benchmark_model: Segmentation fault\n",
            "crash",
            "Segmentation fault",
        ),
        (
            "libc: Fatal signal 6 (SIGABRT), code -6 in tid 4321 (benchmark_model)\nAborted\n",
            "crash",
            "SIGABRT",
        ),
        (
            'CANNOT LINK EXECUTABLE "/data/local/tmp/benchmark_model": library "libc++_shared.so" not found\n',
            "binary",
            "CANNOT LINK",
        ),
        (
            "/system/bin/sh: /data/local/tmp/benchmark_model: can't execute: Permission denied\n",
            "binary",
            "can't execute",
        ),
        (
            "usage: /data/local/tmp/benchmark_model\nFlags:\n\t--num_runs=50\tint32\toptional\texpected number\n",
            "bad_flag",
            "usage",
        ),
        (
            "ERROR: Please specify the name of your TF Lite input file with --graph\n",
            "bad_flag",
            "--graph",
        ),
        ("", "no_timings", "no timing summary"),
        ("STARTING!\nLoaded model x.tflite\n", "no_timings", "Loaded model"),
    ],
)
def test_failures(text: str, kind: str, needle: str) -> None:
    r = fail(text)
    assert r.kind == kind
    assert needle in r.message


def test_unconsumed_flag_with_timings_is_a_failure() -> None:
    r = fail(
        "STARTING!\nUnconsumed cmdline flags: --use_xnnpack=true --gpu_precision_loss_allowed=true\n"
        + TFLITE2_MIN
    )
    assert r.kind == "bad_flag" and "--use_xnnpack=true" in r.message


def test_gpu_unsupported_on_platform_with_timings_is_a_failure() -> None:
    r = fail("Use gpu: [1]\nWARN: GPU acceleration is unsupported on this platform.\n" + TFLITE2_MIN)
    assert r.kind == "delegate" and "unsupported on this platform" in r.message


def test_blocks_without_summary_is_no_timings() -> None:
    text = TFLITE2_MIN.split("Inference timings")[0]
    r = fail(text)
    assert r.kind == "no_timings" and "2 run block(s)" in r.message


def test_dry_run_nan_average_is_no_timings() -> None:
    text = (
        "Inference timings in us: Init: 1200, First inference: 0, Warmup (avg): -nan, Inference (avg): nan\n"
    )
    assert fail(text).kind == "no_timings"


def test_captured_litert_failures() -> None:
    gpu = fail(sample("litert_py_2.3.0_gpu_no_adapter.txt"))
    assert gpu.kind == "delegate" and "WebGPU" in gpu.message
    missing = fail(sample("litert_py_2.3.0_missing_model.txt"))
    assert missing.kind == "model_missing" and "/nonexistent.tflite" in missing.message
    # the truncated model segfaulted the tool before it printed anything about it
    assert fail(sample("litert_py_2.3.0_truncated_model.txt")).kind == "no_timings"


@pytest.mark.parametrize("path", sorted(DATA.glob("*.txt")), ids=lambda p: p.name)
def test_every_sample_parses_to_something_sane(path: Path) -> None:
    r = parse(path.read_text())
    if isinstance(r, BenchmarkResult):
        assert r.avg_us > 0 and math.isfinite(r.avg_us)
        if r.min_us is not None and r.max_us is not None:
            assert r.min_us <= r.avg_us <= r.max_us
        assert r.delegate_applied is None or len(r.delegate_applied) <= 32  # results column width
    else:
        assert r.kind in FAILURE_KINDS and r.message


def test_garbage_never_raises() -> None:
    for text in ["count=", "count=abc", "Inference timings in us:", "=" * 80, "\x00\xff", "[]:[]", "a: [b"]:
        assert isinstance(parse(text), BenchmarkResult | BenchmarkFailure)


# ---- the virtual phone's benchmark_model ----------------------------------------------------


@pytest.fixture(scope="module")
def virtual_phone():
    vd = pytest.importorskip("device_agent.virtual.device")
    pytest.importorskip("device_agent.virtual.benchmark_tool")
    builder = pytest.importorskip("tests.tflite_builder")
    dev = vd.VirtualDevice.from_profile("sdm845")
    path = dev.resolve("/data/local/tmp/m.tflite", write=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(builder.build_tiny_model())
    yield dev
    dev.close()


def run_virtual(dev, *flags: str, graph: str = "/data/local/tmp/m.tflite") -> str:
    import threading

    from device_agent.virtual.benchmark_tool import BenchmarkRun

    out: list[str] = []
    # min_secs=0 bounds the run by its iteration counts alone
    argv = [
        "/data/local/tmp/benchmark_model",
        f"--graph={graph}",
        "--num_threads=2",
        "--num_runs=5",
        "--warmup_runs=1",
        "--min_secs=0",
        "--warmup_min_secs=0",
        "--max_secs=5",
        *flags,
    ]
    BenchmarkRun(dev, argv, "/", out.append, threading.Event()).run()
    return "".join(out)


@pytest.mark.timeout(120)
def test_virtual_tool_cpu(virtual_phone) -> None:
    r = ok(run_virtual(virtual_phone))
    assert r.format == "tflite2"
    assert r.count == 5 and r.warmup_count == 1
    assert r.tool_version is not None and r.tool_version.startswith("2.16")
    assert r.threads == 2 and r.model_path == "/data/local/tmp/m.tflite"
    assert r.delegate_applied == "xnnpack"
    assert r.init_us is not None and r.memory_overall_mb is not None


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("flag", "delegate"), [("--use_gpu=true", "gpu"), ("--use_nnapi=true", "nnapi")])
def test_virtual_tool_delegates(virtual_phone, flag: str, delegate: str) -> None:
    r = ok(run_virtual(virtual_phone, flag, "--enable_op_profiling=true"))
    assert r.delegate_requested == delegate and r.delegate_applied == delegate
    assert r.delegate_coverage in ("full", "partial")
    assert r.op_profile and math.isclose(sum(row.pct for row in r.op_profile), 100.0, abs_tol=0.5)
    assert all(row.node_type != "ModifyGraphWithDelegate" for row in r.op_profile)


@pytest.mark.timeout(120)
def test_virtual_tool_failures(virtual_phone) -> None:
    missing = fail(run_virtual(virtual_phone, graph="/data/local/tmp/nope.tflite"))
    assert missing.kind == "model_missing" and "nope.tflite" in missing.message
    flag = fail(run_virtual(virtual_phone, "--no_such_flag=1"))
    assert flag.kind == "bad_flag" and "--no_such_flag=1" in flag.message
