# One file (over 600 lines): BenchmarkRun is one run of the tool whose phases share the run's state; its flags are in benchmark_flags.py.
"""The virtual phone's `benchmark_model`: TensorFlow Lite's benchmark tool, run for real on the host.

Why: the farm pushes `benchmark_model` to a phone, runs it with TFLite's flags and parses
what it prints. A virtual phone cannot run ARM code: executing the ELF registered for its
ABI (see as_real.py), or the legacy stub file (`stub_binary()`, refused `as_real`), runs this
module, which loads the pushed .tflite with LiteRT on the host, feeds random inputs,
times real inferences and prints what the real tool prints, line for line, so the same
parser and the same failure handling are exercised.

Output format: TensorFlow Lite 2.16 `benchmark_model` (tensorflow/lite/tools/benchmark/
benchmark_main.cc, benchmark_model.cc, benchmark_tflite_model.cc, command_line_flags.cc,
tools/logging.h with its `INFO: `/`WARN: `/`ERROR: ` prefixes, all on stderr as the real
tool's minimal logger writes them; the `count=… first=… curr=… min=… max=… avg=… std=…`
line is tensorflow's Stat::OutputToStream, doubles printed like C++ ostream's default
(%g), std as an integer). Where the runtime, not the tool, prints a line (delegate creation,
"Replacing N out of M node(s)…") the wording is the 2.16 runtime's.

Honesty: results from a virtual phone must never pass for a real phone's. The output
carries a `[phonefarm-virtual]` line naming the profile and the timing mode. In `host`
mode the timings are real host timings; in `profile` mode they are host timings multiplied
by the profile's per-delegate speed_factor. GPU and NNAPI "delegates" execute on the host
CPU (XNNPACK), which is said in the output; which nodes such a delegate would take is
derived from the model's op list. The per-op profile is an estimate (measured inference
time split by each op's arithmetic cost) because LiteRT's Python API has no op profiler,
and the output says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from contracts.delegate_ops import GPU_OPS as GPU_OPS  # re-exported: tests use it here
from contracts.delegate_ops import NNAPI_OPS, XNNPACK_OPS
from device_agent.virtual import as_real, op_profiling, sim_timing, tool_versions
from device_agent.virtual.benchmark_flags import (
    ALWAYS_LOGGED,
    FLAG_TYPES,
    PARAM_LABELS,
    param_text,
    parse_flags,
)
from device_agent.virtual.benchmark_flags import TOOL_VERSION as TOOL_VERSION  # re-exported
from device_agent.virtual.benchmark_flags import usage as usage  # re-exported: tests use it here
from device_agent.virtual.cpp_format import g as g  # re-exported: tests use it here
from device_agent.virtual.sh import programs
from device_agent.virtual.sh.api import IO

if TYPE_CHECKING:
    from device_agent.virtual.device import VirtualDevice

STUB_MAGIC = b"#!/system/bin/phonefarm-benchmark_model"
SIGNAL_TEXT = {
    4: "Illegal instruction",
    6: "Aborted",
    7: "Bus error",
    8: "Floating point exception",
    9: "Killed",
    11: "Segmentation fault",
    15: "Terminated",
}


def stub_binary(version: str = TOOL_VERSION) -> bytes:
    """The file pushed to a virtual phone in place of the arm64 benchmark_model binary."""
    return (
        STUB_MAGIC
        + f" {version}\n".encode()
        + b"# PhoneFarm virtual phone: executing this file runs TensorFlow Lite's benchmark_model\n"
        + b"# emulated on the host (device_agent/virtual/benchmark_tool.py). Not an ARM binary.\n"
    )


# ---- statistics -----------------------------------------------------------------------------------


@dataclass
class Stat:
    """tensorflow::Stat<int64_t>: what OutputToStream prints."""

    values: list[int] = field(default_factory=list)

    def add(self, v: int) -> None:
        self.values.append(int(v))

    @property
    def count(self) -> int:
        return len(self.values)

    def avg(self) -> float:
        return sum(self.values) / len(self.values) if self.values else math.nan

    def std(self) -> int:
        if not self.values or self.all_same():
            return 0
        n = len(self.values)
        sq = sum(float(v) * v for v in self.values) / n
        return int(math.sqrt(max(0.0, sq - self.avg() ** 2)))

    def all_same(self) -> bool:
        return bool(self.values) and min(self.values) == max(self.values)

    def first(self) -> int:
        return self.values[0] if self.values else 0

    def line(self) -> str:
        if not self.values:
            return "count=0"
        if self.all_same():
            return f"count={self.count} curr={self.values[-1]}" + ("(all same)" if self.count > 1 else "")
        return (
            f"count={self.count} first={self.values[0]} curr={self.values[-1]} min={min(self.values)} "
            f"max={max(self.values)} avg={g(self.avg())} std={self.std()}"
        )


def _rss_kb() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, ValueError, IndexError):
        return 0


# ---- the tool ---------------------------------------------------------------------------------------


class Cancelled(Exception):
    pass


@dataclass
class OpInfo:
    index: int
    name: str
    cost: float
    output: str


class BenchmarkRun:
    """One execution of the virtual benchmark_model, in a worker thread."""

    def __init__(
        self,
        device: VirtualDevice,
        argv: list[str],
        cwd: str,
        emit: Callable[[str], None],
        cancel: threading.Event,
    ) -> None:
        self.device = device
        self.argv = argv
        self.cwd = cwd
        self.emit_raw = emit
        self.cancel = cancel
        self.factor = 1.0
        self.slow = 1.0
        self.sim_step: Callable[[], int] | None = None  # `sim` timing: one inference's phone time
        self.timing_key = "cpu"

    # logging as tools/logging.h prints it
    def info(self, text: str) -> None:
        # an empty message is a blank line: the tool logs each table as one multi-line message
        self.emit_raw(f"INFO: {text}\n" if text else "\n")

    def warn(self, text: str) -> None:
        self.emit_raw(f"WARNING: {text}\n")

    def error(self, text: str) -> None:
        self.emit_raw(f"ERROR: {text}\n")

    def check(self) -> None:
        if self.cancel.is_set():
            raise Cancelled

    def fail(self) -> int:
        self.error("Benchmarking failed.")
        return 1

    def run(self) -> int:
        try:
            return self._run()
        except Cancelled:
            return 130

    def _run(self) -> int:
        dev = self.device
        self.info("STARTING!")
        version = tool_versions.version_of(dev)
        older = tool_versions.unknown_args(version, self.argv[1:])  # flags this (pinned) build lacks
        values, given, errors, unconsumed = parse_flags([a for a in self.argv[1:] if a not in older])
        unconsumed += older
        if errors or values["help"]:
            for e in errors:
                self.error(e)
            self.error(usage(self.argv[0], version))
            return self.fail()
        if unconsumed and tool_versions.stops_on_unknown_flags(version):
            self.error("Unconsumed cmdline flags: " + " ".join(unconsumed))
            return self.fail()
        if unconsumed:
            self.warn("Unconsumed cmdline flags: " + " ".join(unconsumed))
        p = values
        if not p["graph"]:
            self.error("Please specify the name of your TF Lite input file with --graph")
            return self.fail()

        delegate = (
            "gpu" if p["use_gpu"] else "nnapi" if p["use_nnapi"] else "hexagon" if p["use_hexagon"] else None
        )
        cpu_kind = "xnnpack" if ("use_xnnpack" not in given or p["use_xnnpack"]) else "cpu"
        timing_key = delegate if delegate in ("gpu", "nnapi") else cpu_kind
        self.timing_key = timing_key
        if dev.timing_mode == "profile":
            self.factor = dev.profile.speed_factor.get(timing_key, dev.profile.speed_factor["cpu"])
        fault = dev.faults
        self.slow = fault.slowdown * (fault.trial_slowdowns.pop(0) if fault.trial_slowdowns else 1.0)
        mode_text = (
            f"injected (every inference {g(fault.inference_us)} us on the phone's clock, not the host's)"
            if fault.inference_us is not None
            else {
                "host": "host (timings are this host's; host timing, not a phone: every delegate runs the "
                "same host path, LiteRT with XNNPACK on the host CPU)",
                "profile": f"profile (host timings x {g(self.factor)}, the profile's speed_factor for "
                f"{timing_key}, slowed by the thermal governor)",
                "sim": "sim (phone time from the profile's cost model for "
                f"{timing_key}, thermal governor and seeded noise; the host's clock is not used)",
            }[dev.timing_mode]
        )
        self.info(
            f"[phonefarm-virtual] benchmark_model version: {version}+phonefarm.virtual on virtual phone "
            f"{dev.profile.id} ({dev.profile.props['ro.product.model']}); timing mode: {mode_text}; "
            + (
                "model loaded and validated by LiteRT on the host"
                if dev.timing_mode == "sim"
                else "executed by LiteRT on the host CPU"
            )
            + (f"; injected slowdown x{g(self.slow)}" if self.slow != 1.0 else "")
        )

        # LogParams
        verbose = bool(p["verbose"])
        self.info(f"Log parameter values verbosely: [{int(verbose)}]")
        for name, label in PARAM_LABELS:
            if name in given or verbose or name in ALWAYS_LOGGED:
                self.info(f"{label}: [{param_text(FLAG_TYPES[name], p[name])}]")

        peak_kb = [0]
        monitor_stop = threading.Event()
        monitor: threading.Thread | None = None
        if p["report_peak_memory_footprint"]:
            interval = p["memory_footprint_check_interval_ms"]
            if interval <= 0:
                self.warn(
                    f"--memory_footprint_check_interval_ms is set to {interval} (ms), This value is invalid, "
                    "and it will be set to the default value 50 (ms)."
                )
                interval = 50

            def watch() -> None:
                while not monitor_stop.wait(interval / 1000):
                    peak_kb[0] = max(peak_kb[0], _rss_kb())

            monitor = threading.Thread(target=watch, daemon=True)
            monitor.start()
        try:
            return self._benchmark(p, delegate, cpu_kind, fault, peak_kb, monitor is not None)
        finally:
            monitor_stop.set()

    def _load(self, graph: str) -> bytes | None:
        try:
            host = self.device.resolve(graph, cwd=self.cwd)
            data = host.read_bytes()
        except OSError:
            self.error(f"Could not open '{graph}'.")
            self.error(f"Failed to mmap model {graph}")
            return None
        return data

    def _benchmark(
        self,
        p: dict[str, Any],
        delegate: str | None,
        cpu_kind: str,
        fault: Any,
        peak_kb: list[int],
        monitor: bool,
    ) -> int:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        dev = self.device
        graph = p["graph"]
        start_rss = _rss_kb()
        t0 = time.perf_counter()
        data = self._load(graph)
        if data is None:
            return self.fail()
        if len(data) < 8 or data[4:8] != b"TFL3":
            ident = data[4:8].decode("latin-1") if len(data) >= 8 else ""
            if len(data) >= 8 and ident.isprintable():
                self.error(f"Model provided has model identifier '{ident}', should be 'TFL3'")
            else:
                self.error("The model is not a valid Flatbuffer buffer")
            self.error(f"Failed to mmap model {graph}")
            return self.fail()
        if (too_big := _arena_refusal(data, dev.profile.mem_total_kb)) is not None:
            self.error(too_big)  # what a phone's AllocateTensors says when malloc fails
            self.error("Failed to allocate tensors!")
            return self.fail()
        threads = p["num_threads"] if p["num_threads"] > 0 else None
        try:
            plain = Interpreter(
                model_content=data,
                num_threads=threads,
                experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            )
        except (ValueError, RuntimeError) as exc:
            msg = (
                str(exc).strip().splitlines()[0]
                if str(exc).strip()
                else "The model is not a valid Flatbuffer buffer"
            )
            self.error(msg if "identifier" in msg else "The model is not a valid Flatbuffer buffer")
            self.error(f"Failed to mmap model {graph}")
            return self.fail()
        self.info(f"Loaded model {graph}")
        ops = self._ops(plain)
        n_nodes = len(ops)

        use_xnnpack_runtime = cpu_kind == "xnnpack" or delegate in ("gpu", "nnapi")
        if use_xnnpack_runtime and delegate is None:
            self.info("Created TensorFlow Lite XNNPACK delegate for CPU.")
        if delegate == "hexagon":
            self.warn("Hexagon acceleration is unsupported on this platform.")
            delegate = None

        # delegate creation and application, as the providers and runtime log them
        if delegate == "gpu":
            self.info("GPU delegate created.")
            if "gpu" not in dev.profile.delegates:
                self.info("Created TensorFlow Lite delegate for GPU.")
                self.error(
                    'TfLiteGpuDelegate Init: OpenCL library not loaded - dlopen failed: library "libOpenCL.so" not found'
                )
                self.info("Created 0 GPU delegate kernels.")
                self.error("TfLiteGpuDelegate Prepare: delegate is not initialized")
                self.error(f"Node number {n_nodes} (TfLiteGpuDelegateV2) failed to prepare.")
                self.error("Restored original execution plan after delegate application failure.")
                self.error("Failed to apply GPU delegate.")
                return self.fail()
            self.info("Created TensorFlow Lite delegate for GPU.")
            self.info(
                "[phonefarm-virtual] GPU delegate: the delegated nodes execute on the host CPU, not a GPU"
            )
            gpu_supported = op_profiling.gpu_ops(dev.profile.gpu_unsupported_ops)
            for line in op_profiling.unsupported_lines((o.name for o in ops), gpu_supported):
                self.info(line)
            if not self._apply("GPU", "TfLiteGpuDelegateV2", gpu_supported, ops, p):
                return self.fail()
            self.info("Initialized OpenCL-based API.")
            self.info("Created 1 GPU delegate kernels.")
        elif delegate == "nnapi":
            self.info("NNAPI delegate created.")
            if "nnapi" not in dev.profile.delegates:
                self.info(
                    "Though NNAPI delegate is explicitly applied, the model graph will not be executed by the delegate."
                )
            else:
                self.info(
                    "[phonefarm-virtual] NNAPI delegate: the delegated nodes execute on the host CPU, not an NPU"
                )
                if not self._apply("NNAPI", "TfLiteNnapiDelegate", NNAPI_OPS, ops, p):
                    return self.fail()
        elif cpu_kind == "xnnpack" and p["use_xnnpack"]:
            self.info("XNNPACK delegate created.")
            if not self._apply("XNNPACK", "TfLiteXNNPackDelegate", XNNPACK_OPS, ops, p):
                return self.fail()

        from device_agent.virtual import tensor_io

        # the GPU delegate computes in fp16 when precision loss is allowed: so does the virtual one
        reduced = delegate == "gpu" and bool(p["gpu_precision_loss_allowed"])
        try:
            interp = Interpreter(
                model_content=tensor_io.fp16_weights(data) if reduced else data,
                num_threads=threads,
                # every delegate runs the same host path: per-delegate differences come only from
                # a profile (profile, sim), never from the host's kernels (a fake "speed-up")
                experimental_op_resolver_type=OpResolverType.AUTO,
            )
            interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            text = str(exc).strip().splitlines()
            for line in text[:3]:
                self.error(line)
            self.error("Failed to allocate tensors!")
            return self.fail()
        init_us = self._scaled(int((time.perf_counter() - t0) * 1e6))
        if dev.timing_mode == "sim":
            init_us = self._sim_setup(plain, len(data), delegate, cpu_kind, p)
        init_rss = _rss_kb()
        size_mb = len(data) / 1e6
        self.info(f"The input model file size (MB): {g(size_mb)}")
        self.info(f"Initialized session in {g(init_us / 1e3)}ms.")

        rng = np.random.default_rng()
        inputs = [(d["index"], _random_input(rng, d)) for d in interp.get_input_details()]
        if p["input_layer_value_files"]:
            try:
                given = tensor_io.load_inputs(
                    interp.get_input_details(), p, lambda path: self.device.resolve(path, cwd=self.cwd)
                )
            except tensor_io.InputError as exc:
                self.error(str(exc))
                return self.fail()
            inputs = [(idx, given.get(idx, arr)) for idx, arr in inputs]
        if reduced:
            inputs = [(idx, tensor_io.fp16_round(arr)) for idx, arr in inputs]

        if p["dry_run"]:
            p.update(warmup_runs=0, warmup_min_secs=-1.0, num_runs=0, min_secs=-1.0)

        def invoke() -> None:
            for idx, arr in inputs:
                interp.set_tensor(idx, arr)
            interp.invoke()

        if self.sim_step is not None and not p["dry_run"] and p.get("output_filepath"):
            invoke()  # outputs asked for: run the real model once, untimed

        warm = self._loop(
            invoke, p["warmup_runs"], p["warmup_min_secs"], p["max_secs"], p, fault, regular=False
        )
        if warm is None:
            return self._fault_exit(fault)
        regular = self._loop(invoke, p["num_runs"], p["min_secs"], p["max_secs"], p, fault, regular=True)
        if regular is None:
            return self._fault_exit(fault)
        end_rss = _rss_kb()
        if p["output_filepath"]:
            outs = [interp.get_tensor(d["index"]) for d in interp.get_output_details()]
            if reduced:
                noise = fault.gpu_output_noise
                outs = [tensor_io.add_noise(tensor_io.fp16_round(o), noise, dev.profile.id) for o in outs]
            try:
                self.device.quota.charge(sum(int(o.nbytes) for o in outs))  # ENOSPC past the budget
                tensor_io.write_outputs(
                    self.device.resolve(p["output_filepath"], cwd=self.cwd, write=True), outs
                )
            except OSError:
                self.error(f"Failed to write the output file: {p['output_filepath']}")
                return self.fail()
        self.info(
            f"Inference timings in us: Init: {init_us}, First inference: {warm.first()}, "
            f"Warmup (avg): {g(warm.avg())}, Inference (avg): {g(regular.avg())}"
        )
        self.info(
            "Note: as the benchmark tool itself affects memory footprint, the following is only APPROXIMATE to "
            "the actual memory footprint of the model at runtime. Take the information at your discretion."
        )
        self.info(
            "Memory footprint delta from the start of the tool (MB): "
            f"init={g(max(0, init_rss - start_rss) / 1024.0)} overall={g(max(0, end_rss - start_rss) / 1024.0)}"
        )
        if monitor:
            peak = max(peak_kb[0], end_rss)
            self.info(f"Overall peak memory footprint (MB) via periodic monitoring: {g(peak / 1024.0)}")
            self.info("Memory status at the end of exeution:")
            self.info(f"- VmRSS              : {end_rss // 1024} MB")
            self.info(f"+ RssAnnon           : {max(0, end_rss - 12 * 1024) // 1024} MB")
            self.info(f"+ RssFile + RssShmem : {min(end_rss, 12 * 1024) // 1024} MB")
        if p["enable_op_profiling"]:
            self._op_profile(ops, regular, init_us, n_nodes, delegate, cpu_kind, p)
        return 0

    # -- helpers -------------------------------------------------------------------------------------

    def _cap(self) -> float:
        """The thermal governor's slow-down now (profile mode): full on CPUs, half on accelerators."""
        scale = sim_timing.governor_scale(self.device)
        return scale if self.timing_key in ("cpu", "xnnpack") else 1.0 - (1.0 - scale) * 0.5

    def _sim_setup(
        self, plain: Any, size: int, delegate: str | None, cpu_kind: str, p: dict[str, Any]
    ) -> int:
        """`sim` timing: plan the inference from the profile's cost model; returns the init time."""
        dev = self.device
        ops = sim_timing.op_costs(plain)
        taken = delegate in ("gpu", "nnapi") and delegate in dev.profile.delegates
        plan = sim_timing.plan(
            dev.profile,
            ops,
            cpu_kind=cpu_kind,
            delegate=delegate if taken else None,
            delegate_ops=(
                op_profiling.gpu_ops(dev.profile.gpu_unsupported_ops) if delegate == "gpu" else NNAPI_OPS
            )
            if taken
            else None,
            xnnpack_ops=XNNPACK_OPS,
            threads=int(p["num_threads"]),
        )
        noise = sim_timing.noise_for(dev)
        offset = noise.invocation() * self.slow
        cache = {"left": 0.0, "scale": 1.0}

        def step() -> int:
            if cache["left"] <= 0:  # the governor's cap, re-read every 10 ms of phone time
                cache["scale"], cache["left"] = sim_timing.governor_scale(dev), 0.01
            us = plan.inference_us(cache["scale"]) * offset * noise.inference()
            cache["left"] -= us / 1e6
            return max(1, round(us))

        self.sim_step = step
        return sim_timing.init_us(dev.profile, size, delegate if taken else None, len(ops))

    def _scaled(self, us: int) -> int:
        return max(1, round(us * self.factor)) if self.factor != 1.0 else us

    def _ops(self, interp: Any) -> list[OpInfo]:
        tensors = {t["index"]: t for t in interp.get_tensor_details()}
        out = []
        for op in interp._get_ops_details():
            outs = [tensors[i] for i in op["outputs"] if i in tensors]
            ins = [tensors[i] for i in op["inputs"] if i >= 0 and i in tensors]
            out_elems = sum(int(np.prod(t["shape"])) for t in outs) or 1
            cost = float(out_elems)
            if (
                op["op_name"] in ("CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "BATCH_MATMUL")
                and len(ins) > 1
            ):
                w = ins[1]["shape"]
                k = int(np.prod(w[1:])) if len(w) > 1 else 1
                cost = float(out_elems) * max(1, k)
            elif op["op_name"] == "DEPTHWISE_CONV_2D" and len(ins) > 1:
                w = ins[1]["shape"]
                cost = float(out_elems) * max(1, int(np.prod(w[1:3])) if len(w) >= 3 else 1)
            name = outs[0]["name"] if outs else f"op{op['index']}"
            out.append(OpInfo(int(op["index"]), str(op["op_name"]), cost, name))
        return out

    def _apply(
        self, label: str, kernel: str, supported: frozenset[str], ops: list[OpInfo], p: dict[str, Any]
    ) -> bool:
        n = len(ops)
        ok = [op.name in supported for op in ops]
        taken = sum(ok)
        partitions = sum(1 for i, v in enumerate(ok) if v and (i == 0 or not ok[i - 1]))
        if taken:
            whole = " for the whole graph" if taken == n else ""
            self.info(
                f"Replacing {taken} out of {n} node(s) with delegate ({kernel}) node, yielding {partitions} "
                f"partitions{whole}."
            )
        if taken == n and n > 0:
            self.info(
                f"Explicitly applied {label} delegate, and the model graph will be completely executed by the delegate."
            )
        elif taken:
            if p["require_full_delegation"]:
                self.error("Disallowed CPU fallback detected.")
                return False
            self.info(
                f"Explicitly applied {label} delegate, and the model graph will be partially executed by the "
                f"delegate w/ {partitions} delegate kernels."
            )
        else:
            if p["require_full_delegation"]:
                self.error("Disallowed CPU fallback detected.")
                return False
            self.info(
                f"Though {label} delegate is explicitly applied, the model graph will not be executed by the delegate."
            )
        return True

    def _loop(
        self,
        invoke: Callable[[], None],
        min_runs: int,
        min_secs: float,
        max_secs: float,
        p: dict[str, Any],
        fault: Any,
        *,
        regular: bool,
    ) -> Stat | None:
        """BenchmarkModel::Run; None when a fault ended the run (crash, disconnect)."""
        self.info(
            f"Running benchmark for at least {min_runs} iterations and at least {g(min_secs)} seconds but "
            f"terminate if exceeding {g(max_secs)} seconds."
        )
        stat = Stat()
        clock = 0.0  # seconds on the phone's clock (host time, scaled in profile mode; simulated in sim)
        sim_s, loop_start = 0.0, time.perf_counter()
        min_finish, max_finish = min_secs, max_secs
        delay = p["run_delay"]
        run = 0
        dry = p["dry_run"]
        crash_at = max(1, min_runs // 2)
        noise = random.Random()
        while (run < min_runs or clock < min_finish) and clock <= max_finish:
            iteration = time.perf_counter()
            self.check()
            if regular and run == crash_at - 1:
                if fault.benchmark_hang:
                    while not self.cancel.wait(0.05):
                        pass
                    raise Cancelled
                if fault.benchmark_crash_signal is not None or fault.disconnect_during_benchmark:
                    return None
            start = time.perf_counter()
            if self.sim_step is not None:
                us = self.sim_step() if not dry else 1
                sim_s += us / 1e6 + max(delay, 0.0)
                ahead = sim_s - (time.perf_counter() - loop_start)
                if ahead > 0.002 and self.cancel.wait(ahead):  # pace to the phone's time
                    raise Cancelled
            elif fault.inference_us is not None:  # the phone's own time, not the host's
                if not dry:
                    invoke()
                us = max(1, round(fault.inference_us * self.slow * noise.gauss(1.0, 0.02)))
                if self.cancel.wait(max(0.0, start + us / 1e6 - time.perf_counter())):
                    raise Cancelled
            else:
                if not dry:
                    invoke()
                if self.slow > 1.0:  # spin, not sleep: exact even for sub-millisecond inferences
                    until = start + (time.perf_counter() - start) * self.slow
                    while time.perf_counter() < until:
                        pass
                host_us = round((time.perf_counter() - start) * 1e6)
                us = self._scaled(host_us)
                if self.device.timing_mode == "profile":
                    us = max(1, round(us / self._cap()))
            if not dry:
                if self.device.timing_mode == "host":
                    self.device.thermal.add_load(1)
                else:
                    self.device.thermal.add_busy(us / 1e6)
                self.device.battery.add_busy(us / 1e6)
            stat.add(us)
            if self.sim_step is not None:
                clock = sim_s
            else:
                if delay > 0 and self.cancel.wait(delay):
                    raise Cancelled
                # the tool bounds its loop by the wall clock (NowMicros), not by summed inference times
                if fault.inference_us is not None:
                    clock += us / 1e6 + max(0.0, delay)
                else:
                    clock += (time.perf_counter() - iteration) * self.factor
            run += 1
        if not regular and fault.benchmark_hang and min_runs == 0:
            pass
        self.info(stat.line() + "\n")
        return stat

    def _fault_exit(self, fault: Any) -> int:
        if fault.disconnect_during_benchmark:
            callback = self.device.on_disconnect
            if callback is not None:
                callback()
            return 255
        sig = int(fault.benchmark_crash_signal or 11)
        # what mksh prints when its child dies by a signal, then 128+signal
        self.emit_raw(f"{SIGNAL_TEXT.get(sig, f'Signal {sig}')} \n")
        return 128 + sig

    def _op_profile(
        self,
        ops: list[OpInfo],
        regular: Stat,
        init_us: int,
        n_nodes: int,
        delegate: str | None,
        cpu_kind: str,
        p: dict[str, Any],
    ) -> None:
        # csv mode: the tables go to the file, not the log (the ESTIMATED note stays in the log)
        csv_file = p["op_profiling_output_file"] if p["op_profiling_output_mode"] == "csv" else ""
        info: Callable[[str], None] = self.info if not csv_file else (lambda _text: None)
        hdr = "\t             [node type]\t  [first]\t [avg ms]\t     [%]\t  [cdf%]\t  [mem KB]\t[times called]\t[Name]"
        sum_hdr = "\t             [Node type]\t  [count]\t  [avg ms]\t    [avg %]\t    [cdf %]\t  [mem KB]\t[times called]"
        init_ms = init_us / 1e3
        mgwd = init_ms * 0.9 if delegate or cpu_kind == "xnnpack" else 0.0
        alloc = max(0.001, init_ms * 0.01)
        info("Profiling Info for Benchmark Initialization:")
        info("============================== Run Order ==============================")
        info(hdr)
        init_rows = (
            [("ModifyGraphWithDelegate", mgwd, 1), ("AllocateTensors", alloc, 2)]
            if mgwd
            else [("AllocateTensors", alloc, 2)]
        )
        total = sum(r[1] for r in init_rows) or 1.0
        cdf = 0.0
        for name, ms, called in init_rows:
            cdf += ms / total * 100
            info(
                f"\t{name:>24}\t{ms:9.3f}\t{ms:9.3f}\t{ms / total * 100:7.3f}%\t{cdf:7.3f}%\t{0.0:10.3f}\t"
                f"{called:9d}\t{name}/0"
            )
        info("")
        info("============================== Summary by node type ==============================")
        info(sum_hdr)
        cdf = 0.0
        for name, ms, called in init_rows:
            cdf += ms / total * 100
            info(
                f"\t{name:>24}\t{1:9d}\t{ms:10.3f}\t{ms / total * 100:10.3f}%\t{cdf:10.3f}%\t{0.0:10.3f}\t{called:9d}"
            )
        info("")
        info(f"Timings (microseconds): count=1 curr={round(total * 1000)}")
        info("Memory (bytes): count=0")
        info(f"{len(init_rows)} nodes observed")
        info("")
        info("")
        self.info(
            "[phonefarm-virtual] operator times below are ESTIMATED: the measured average inference time split "
            "by each op's arithmetic cost (LiteRT's Python API has no per-op profiler)"
        )
        avg_ms = regular.avg() / 1e3
        first_ms = regular.first() / 1e3
        rows: list[tuple[str, str, float, float]] = []
        if delegate in ("gpu", "nnapi") or (cpu_kind == "xnnpack" and p["use_xnnpack"]):
            gpu = op_profiling.gpu_ops(self.device.profile.gpu_unsupported_ops)
            supported = gpu if delegate == "gpu" else NNAPI_OPS if delegate == "nnapi" else XNNPACK_OPS
            kernel = {"gpu": "TfLiteGpuDelegateV2", "nnapi": "TfLiteNnapiDelegate"}.get(
                delegate or "", "TfLiteXNNPackDelegate"
            )
            delegated = [o for o in ops if o.name in supported]
            rest = [o for o in ops if o.name not in supported]
            units: list[tuple[str, str, float]] = []
            if delegated:
                units.append(
                    (kernel, f"Delegate/{kernel}:{delegated[0].index}", sum(o.cost for o in delegated))
                )
            units += [(o.name, f"[{o.output}]:{o.index}", o.cost) for o in rest]
        else:
            units = [(o.name, f"[{o.output}]:{o.index}", o.cost) for o in ops]
        total_cost = sum(u[2] for u in units) or 1.0
        for kind, label, cost in units:
            share = cost / total_cost
            rows.append((kind, label, first_ms * share, avg_ms * share))
        info("Operator-wise Profiling Info for Regular Benchmark Runs:")
        info("============================== Run Order ==============================")
        info(hdr)
        cdf = 0.0
        for kind, label, first, avg in rows:
            pct = avg / avg_ms * 100 if avg_ms else 0.0
            cdf += pct
            info(
                f"\t{kind:>24}\t{first:9.3f}\t{avg:9.3f}\t{pct:7.3f}%\t{cdf:7.3f}%\t{0.0:10.3f}\t{1:9d}\t{label}"
            )
        info("")
        info("============================== Top by Computation Time ==============================")
        info(hdr)
        cdf = 0.0
        for kind, label, first, avg in sorted(rows, key=lambda r: -r[3])[:10]:
            pct = avg / avg_ms * 100 if avg_ms else 0.0
            cdf += pct
            info(
                f"\t{kind:>24}\t{first:9.3f}\t{avg:9.3f}\t{pct:7.3f}%\t{cdf:7.3f}%\t{0.0:10.3f}\t{1:9d}\t{label}"
            )
        info("")
        info(f"Number of nodes executed: {len(rows)}")
        info("============================== Summary by node type ==============================")
        info(sum_hdr)
        by_type: dict[str, list[float]] = {}
        for kind, _, _, avg in rows:
            by_type.setdefault(kind, []).append(avg)
        cdf = 0.0
        for kind, avgs in sorted(by_type.items(), key=lambda kv: -sum(kv[1])):
            ms = sum(avgs)
            pct = ms / avg_ms * 100 if avg_ms else 0.0
            cdf += pct
            info(
                f"\t{kind:>24}\t{len(avgs):9d}\t{ms:10.3f}\t{pct:10.3f}%\t{cdf:10.3f}%\t{0.0:10.3f}\t{len(avgs):9d}"
            )
        info("")
        info(f"Timings (microseconds): {regular.line()}")
        info("Memory (bytes): count=0")
        info(f"{len(rows)} nodes observed")
        info("")
        if csv_file:
            init_nodes = [(name, f"{name}/0", ms, ms) for name, ms, _ in init_rows]
            init_line = f"count=1 curr={round(total * 1000)}"
            try:
                target = self.device.resolve(csv_file, cwd=self.cwd, write=True)
                op_profiling.write_csv(target, init_nodes, rows, init_line, regular.line())
            except OSError:
                self.error(f"Failed to open output file for writing: {csv_file}")


def _random_input(rng: np.random.Generator, detail: dict[str, Any]) -> np.ndarray:
    shape = [int(d) if d > 0 else 1 for d in detail["shape"]]
    dtype = np.dtype(detail["dtype"])
    if dtype.kind == "f":
        return rng.uniform(-0.5, 0.5, size=shape).astype(dtype)
    if dtype == np.uint8:
        return rng.integers(0, 255, size=shape, dtype=np.uint8)
    if dtype == np.int8:
        return rng.integers(-127, 128, size=shape, dtype=np.int8)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if dtype.kind in "iu":
        return rng.integers(0, 100, size=shape).astype(dtype)
    return np.zeros(shape, dtype=dtype)


def _arena_refusal(data: bytes, mem_total_kb: int) -> str | None:
    """A model whose tensors need more than half the phone's RAM fails to allocate, as on a
    phone (malloc fails), instead of growing the host process that runs the virtual phone."""
    from contracts.tflite import TFLiteError, inspect_tflite

    try:
        need = inspect_tflite(data).activation_bytes
    except TFLiteError:
        return None  # the interpreter reports it the way the runtime does
    budget = mem_total_kb * 1024 // 2
    if need <= budget:
        return None
    return (
        f"Failed to allocate memory for the tensor arena: the model's tensors need {need >> 20} MB, "
        f"more than this phone can give one process ({budget >> 20} MB)"
    )


async def run(device: VirtualDevice, argv: list[str], io: IO, *, cwd: str = "/") -> int:
    """Run the tool in a worker thread, streaming its lines; cancellable at any point."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    cancel = threading.Event()

    pid = getattr(device.procs.by_task(asyncio.current_task()), "pid", 0) if hasattr(device, "procs") else 0

    def emit(text: str) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, text.encode("utf-8", "replace"))
        if hasattr(device, "logs"):  # TFLite logs to logcat (tag tflite) as well as stderr
            device.logs.add_tool_output("tflite", text, pid=pid)

    def job() -> int:
        try:
            return BenchmarkRun(device, argv, cwd, emit, cancel).run()
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    future = loop.run_in_executor(None, job)
    try:
        while True:
            chunk = await queue.get()
            if chunk is None:
                break
            await io.err(chunk)
        return await future
    except asyncio.CancelledError:
        cancel.set()
        with contextlib.suppress(Exception):
            future.cancel()
        raise


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
