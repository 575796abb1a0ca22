"""One run of the virtual `benchmark_model`: its phases, in the phone-serving process.

Why split from the interpreter: the run's phases read and change the phone (flags, faults,
thermal and battery models, timing modes, the disk quota, logcat) while the model itself is
loaded, allocated and invoked in the phone's interpreter process (interpreter.py), which
answers with op lists, sizes and microseconds measured on its own clock. A model that needs
more memory than the phone can give ends the run as lmkd ends it on a phone (program.py).
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from contracts.delegate_ops import NNAPI_OPS, XNNPACK_OPS
from device_agent.virtual import op_profiling, sim_timing, tool_versions
from device_agent.virtual.benchmark import delegates, interpreter
from device_agent.virtual.benchmark.interpreter_child import Allocated, Loaded, Refused
from device_agent.virtual.benchmark.profile_tables import print_op_profile
from device_agent.virtual.benchmark.stat import Stat
from device_agent.virtual.benchmark_flags import (
    ALWAYS_LOGGED,
    FLAG_TYPES,
    PARAM_LABELS,
    param_text,
    parse_flags,
    usage,
)
from device_agent.virtual.cpp_format import g
from device_agent.virtual.tensor_io import split_map

if TYPE_CHECKING:
    from device_agent.virtual.device import VirtualDevice

SIGNAL_TEXT = {
    4: "Illegal instruction",
    6: "Aborted",
    7: "Bus error",
    8: "Floating point exception",
    9: "Killed",
    11: "Segmentation fault",
    15: "Terminated",
}


class Cancelled(Exception):
    pass


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
        # the phone's interpreter process for this run (taken when a model is to be loaded)
        self.child: interpreter.InterpreterProcess | None = None
        self._lock = threading.Lock()
        self._healthy = True

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
        """The tool's exit status; raises interpreter.OutOfMemoryKill or ChildDied (program.py
        reports them as the shell does) unless the run was cancelled."""
        try:
            return self._run()
        except Cancelled:
            return 130
        except (interpreter.ChildDied, interpreter.OutOfMemoryKill):
            self._healthy = False
            if self.cancel.is_set():  # killed with its benchmark_model
                return 130
            raise
        except BaseException:
            self._healthy = False
            raise
        finally:
            self._give_back()

    def kill(self) -> None:
        """Stop the run now, from any thread: the interpreter process dies with its benchmark_model."""
        self.cancel.set()
        with self._lock:
            child, self._healthy = self.child, False
        if child is not None:
            child.kill()

    def child_rss_kb(self) -> int:
        child = self.child
        return child.rss_kb() if child is not None else 0

    def _take_child(self) -> interpreter.InterpreterProcess:
        def started(child: interpreter.InterpreterProcess) -> None:  # killable from its fork on
            with self._lock:
                self.child = child
                if self.cancel.is_set():
                    child.kill()

        child = interpreter.pool_for(self.device).acquire(self.device.process_memory_kb * 1024, started)
        started(child)
        return child

    def _give_back(self) -> None:
        with self._lock:
            child, self.child = self.child, None
        if child is not None:
            interpreter.pool_for(self.device).release(
                child, healthy=self._healthy and not self.cancel.is_set()
            )

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
                    peak_kb[0] = max(peak_kb[0], self.child_rss_kb())

            monitor = threading.Thread(target=watch, daemon=True)
            monitor.start()
        try:
            return self._benchmark(p, delegate, cpu_kind, fault, peak_kb, monitor is not None)
        finally:
            monitor_stop.set()

    def _benchmark(
        self,
        p: dict[str, Any],
        delegate: str | None,
        cpu_kind: str,
        fault: Any,
        peak_kb: list[int],
        monitor: bool,
    ) -> int:
        dev = self.device
        graph = p["graph"]
        try:
            host = dev.resolve(graph, cwd=self.cwd)
        except OSError:
            self.error(f"Could not open '{graph}'.")
            self.error(f"Failed to mmap model {graph}")
            return self.fail()
        child = self._take_child()
        start_rss = child.rss_kb()
        threads = p["num_threads"] if p["num_threads"] > 0 else None
        loaded: Loaded | Refused = child.call("load", str(host), graph, dev.profile.mem_total_kb, threads)
        if isinstance(loaded, Refused):
            for line in loaded.lines:
                self.error(line)
            return self.fail()
        self.info(f"Loaded model {graph}")
        ops = loaded.ops
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
            if not delegates.apply(self, "GPU", "TfLiteGpuDelegateV2", gpu_supported, ops, p):
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
                if not delegates.apply(self, "NNAPI", "TfLiteNnapiDelegate", NNAPI_OPS, ops, p):
                    return self.fail()
        elif cpu_kind == "xnnpack" and p["use_xnnpack"]:
            self.info("XNNPACK delegate created.")
            if not delegates.apply(self, "XNNPACK", "TfLiteXNNPackDelegate", XNNPACK_OPS, ops, p):
                return self.fail()

        # the GPU delegate computes in fp16 when precision loss is allowed: so does the virtual one
        reduced = delegate == "gpu" and bool(p["gpu_precision_loss_allowed"])
        allocated: Allocated | Refused = child.call("allocate", threads, reduced)
        if isinstance(allocated, Refused):
            for line in allocated.lines:
                self.error(line)
            return self.fail()
        # host time of loading and allocating, on the interpreter process's clock (no pipe trips)
        init_us = self._scaled(loaded.us + allocated.us)
        if dev.timing_mode == "sim":
            init_us = self._sim_setup(loaded, delegate, cpu_kind, p)
        init_rss = child.rss_kb()
        size_mb = loaded.size / 1e6
        self.info(f"The input model file size (MB): {g(size_mb)}")
        self.info(f"Initialized session in {g(init_us / 1e3)}ms.")

        files: dict[str, str] = {}
        for _name, path in split_map(str(p["input_layer_value_files"])):
            with contextlib.suppress(OSError):  # the interpreter says which file it cannot read
                files[path] = str(dev.resolve(path, cwd=self.cwd))
        fed: Refused | None = child.call("feed", p, files)
        if fed is not None:
            for line in fed.lines:
                self.error(line)
            return self.fail()

        if p["dry_run"]:
            p.update(warmup_runs=0, warmup_min_secs=-1.0, num_runs=0, min_secs=-1.0)

        def invoke(slow: float) -> int:
            us: int = child.call("invoke", slow)  # measured by the interpreter process
            return us

        if self.sim_step is not None and not p["dry_run"] and p.get("output_filepath"):
            invoke(1.0)  # outputs asked for: run the real model once, untimed

        warm = self._loop(
            invoke, p["warmup_runs"], p["warmup_min_secs"], p["max_secs"], p, fault, regular=False
        )
        if warm is None:
            return self._fault_exit(fault)
        regular = self._loop(invoke, p["num_runs"], p["min_secs"], p["max_secs"], p, fault, regular=True)
        if regular is None:
            return self._fault_exit(fault)
        end_rss = child.rss_kb()
        if p["output_filepath"]:
            try:
                self.device.quota.charge(child.call("output_bytes"))  # ENOSPC past the budget
                target = self.device.resolve(p["output_filepath"], cwd=self.cwd, write=True)
                written = child.call("write_outputs", str(target), fault.gpu_output_noise, dev.profile.id)
            except OSError:
                written = False
            if not written:
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
            print_op_profile(self, dev, self.cwd, ops, regular, init_us, delegate, cpu_kind, p)
        return 0

    # -- helpers -------------------------------------------------------------------------------------

    def _cap(self) -> float:
        """The thermal governor's slow-down now (profile mode): full on CPUs, half on accelerators."""
        scale = sim_timing.governor_scale(self.device)
        return scale if self.timing_key in ("cpu", "xnnpack") else 1.0 - (1.0 - scale) * 0.5

    def _sim_setup(self, loaded: Loaded, delegate: str | None, cpu_kind: str, p: dict[str, Any]) -> int:
        """`sim` timing: plan the inference from the profile's cost model; returns the init time."""
        dev = self.device
        ops = loaded.sim_costs
        size = loaded.size
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

    def _loop(
        self,
        invoke: Callable[[float], int],
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
                    invoke(1.0)
                us = max(1, round(fault.inference_us * self.slow * noise.gauss(1.0, 0.02)))
                if self.cancel.wait(max(0.0, start + us / 1e6 - time.perf_counter())):
                    raise Cancelled
            else:
                # host timing is the interpreter process's clock (the slowdown spins there too)
                host_us = invoke(self.slow) if not dry else round((time.perf_counter() - start) * 1e6)
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
