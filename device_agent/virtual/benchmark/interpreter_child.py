"""The process that runs LiteRT for a virtual phone: it loads, allocates and invokes models.

Why a process of its own: any submitter's model runs here, and a 320-byte model whose tensors
are [1,4000,4000,3] once grew the phone-serving process from 87 MB to 617 MB. This process
gets an RLIMIT_DATA budget (the phone's RAM for one process, see interpreter.py), so such a
model runs out of memory here, and the phone-serving process only hears about it.

Why it lives on: it is forked from a forkserver that has LiteRT and numpy imported (about
15 ms) and then serves one run after another for its phone; the parent kills it when a run
is cancelled or runs out of memory and forks a fresh one for the next run. It exits by itself
when idle for `idle_s` or when its parent hangs up.

Protocol: the parent sends `(command, args)`; each command is a method of `_Interpreter` and
gets one reply, a plain value or one of the dataclasses below. Everything the parent sees is
small (op lists, sizes, microseconds): tensors never cross the pipe.

Keep imports light: the forkserver preloads this module, and every child starts from it.
"""

from __future__ import annotations

import contextlib
import gc
import os
import resource
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from contracts.tflite import TFLiteError, inspect_tflite
from device_agent.virtual import sim_timing, tensor_io


@dataclass(frozen=True)
class OpInfo:
    """One node: its index, op name, arithmetic cost (what the op profile splits time by), output."""

    index: int
    name: str
    cost: float
    output: str


@dataclass(frozen=True)
class Refused:
    """The tool prints these ERROR lines and fails (the model cannot be opened, allocated, fed)."""

    lines: list[str]


@dataclass(frozen=True)
class Loaded:
    size: int  # bytes of the model file
    ops: list[OpInfo]
    sim_costs: list[sim_timing.OpCost]
    us: int  # reading and checking it, on this process's clock


@dataclass(frozen=True)
class Allocated:
    inputs: list[dict[str, Any]]  # LiteRT's input details: name, index, shape, dtype
    us: int  # building the interpreter and AllocateTensors, on this process's clock


@dataclass(frozen=True)
class OutOfMemory:
    """The process hit its memory budget: on a phone the low-memory killer would kill it."""

    command: str
    rss_kb: int


@dataclass(frozen=True)
class Failed:
    """Any other exception: the parent raises it again, as the in-process tool did."""

    text: str


def data_kb() -> int:
    """This process's private writable memory (VmData): what RLIMIT_DATA counts."""
    return _status_kb("VmData")


def _status_kb(name: str) -> int:
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


def limit_memory(budget_bytes: int) -> None:
    """Let this process's data grow by `budget_bytes` from now, no further (malloc fails)."""
    if budget_bytes <= 0:
        return
    limit = data_kb() * 1024 + budget_bytes
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def serve(conn: Connection, budget_bytes: int, idle_s: float) -> None:
    """The child's main: answer commands until the parent hangs up or `idle_s` pass idle."""
    gc.freeze()  # what the forkserver imported stays shared: the collector never walks (and copies) it
    limit_memory(budget_bytes)
    interp = _Interpreter()
    while True:
        try:
            if not conn.poll(idle_s):
                return
            command, args = conn.recv()
        except (EOFError, OSError):
            return
        reply: object
        try:
            reply = getattr(interp, command)(*args)
        except MemoryError:
            reply = OutOfMemory(command, _status_kb("VmRSS"))
        except Exception as exc:
            reply = Failed(f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return


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


def arena_refusal(data: bytes, mem_total_kb: int) -> str | None:
    """A model whose declared tensors need more than half the phone's RAM fails to allocate at
    once, as on a phone (malloc fails), without trying; what the declared shapes hide (shapes
    computed at AllocateTensors) meets the process's memory budget instead."""
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


def _ops(interp: Any) -> list[OpInfo]:
    """Each op's cost in MACs (element ops for the rest), as sim_timing counts them."""
    return [OpInfo(c.index, c.name, c.macs, c.output) for c in sim_timing.op_costs(interp)]


def _plain_detail(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": d["name"],
        "index": int(d["index"]),
        "shape": [int(x) for x in d["shape"]],
        "dtype": d["dtype"],
    }


class _Interpreter:
    """One run's interpreter state; `reset` drops it between runs."""

    def __init__(self) -> None:
        self.data = b""
        self.interp: Any = None
        self.inputs: list[tuple[int, np.ndarray]] = []
        self.reduced = False

    def load(self, host_path: str, graph: str, mem_total_kb: int, threads: int | None) -> Loaded | Refused:
        """Read and validate the model (its identifier, its declared tensors, LiteRT's checks)."""
        self.reset()
        t0 = time.perf_counter()
        try:
            data = Path(host_path).read_bytes()
        except OSError:
            return Refused([f"Could not open '{graph}'.", f"Failed to mmap model {graph}"])
        if len(data) < 8 or data[4:8] != b"TFL3":
            ident = data[4:8].decode("latin-1") if len(data) >= 8 else ""
            if len(data) >= 8 and ident.isprintable():
                first = f"Model provided has model identifier '{ident}', should be 'TFL3'"
            else:
                first = "The model is not a valid Flatbuffer buffer"
            return Refused([first, f"Failed to mmap model {graph}"])
        if (too_big := arena_refusal(data, mem_total_kb)) is not None:
            return Refused([too_big, "Failed to allocate tensors!"])  # what a phone's AllocateTensors says
        try:
            plain = Interpreter(
                model_content=data,
                num_threads=threads,
                experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            )
        except (ValueError, RuntimeError) as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            first = msg if "identifier" in msg else "The model is not a valid Flatbuffer buffer"
            return Refused([first, f"Failed to mmap model {graph}"])
        self.data = data
        us = round((time.perf_counter() - t0) * 1e6)
        return Loaded(len(data), _ops(plain), sim_timing.op_costs(plain), us)

    def allocate(self, threads: int | None, reduced: bool) -> Allocated | Refused | OutOfMemory:
        """The interpreter that runs (every delegate runs the same host path), its tensors allocated."""
        self.reduced = reduced
        t0 = time.perf_counter()
        try:
            self.interp = Interpreter(
                model_content=tensor_io.fp16_weights(self.data) if reduced else self.data,
                num_threads=threads,
                # every delegate runs the same host path: per-delegate differences come only from
                # a profile (profile, sim), never from the host's kernels (a fake "speed-up")
                experimental_op_resolver_type=OpResolverType.AUTO,
            )
            self.interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            text = str(exc).strip().splitlines()
            if not text:  # the arena's malloc failed: LiteRT says nothing, the budget was hit
                return OutOfMemory("allocate", _status_kb("VmRSS"))
            return Refused([*text[:3], "Failed to allocate tensors!"])
        us = round((time.perf_counter() - t0) * 1e6)
        return Allocated([_plain_detail(d) for d in self.interp.get_input_details()], us)

    def feed(self, p: dict[str, Any], files: dict[str, str]) -> Refused | None:
        """Random inputs, or those --input_layer_value_files names (phone path -> host path)."""
        rng = np.random.default_rng()
        details = self.interp.get_input_details()
        inputs = [(d["index"], _random_input(rng, d)) for d in details]
        if p["input_layer_value_files"]:
            try:
                given = tensor_io.load_inputs(details, p, lambda path: Path(files.get(path, "/nonexistent/")))
            except tensor_io.InputError as exc:
                return Refused([str(exc)])
            inputs = [(idx, given.get(idx, arr)) for idx, arr in inputs]
        if self.reduced:
            inputs = [(idx, tensor_io.fp16_round(arr)) for idx, arr in inputs]
        self.inputs = inputs
        return None

    def invoke(self, slow: float) -> int:
        """One inference on this process's clock, in microseconds (slowed by the fault's factor)."""
        start = time.perf_counter()
        for idx, arr in self.inputs:
            self.interp.set_tensor(idx, arr)
        self.interp.invoke()
        if slow > 1.0:  # spin, not sleep: exact even for sub-millisecond inferences
            until = start + (time.perf_counter() - start) * slow
            while time.perf_counter() < until:
                pass
        return round((time.perf_counter() - start) * 1e6)

    def output_bytes(self) -> int:
        return sum(
            int(np.prod(d["shape"])) * np.dtype(d["dtype"]).itemsize for d in self.interp.get_output_details()
        )

    def write_outputs(self, host_path: str, noise: float, seed: str) -> bool:
        """The outputs as --output_filepath writes them; False if the file cannot be written."""
        outs = [self.interp.get_tensor(d["index"]) for d in self.interp.get_output_details()]
        if self.reduced:
            outs = [tensor_io.add_noise(tensor_io.fp16_round(o), noise, seed) for o in outs]
        try:
            tensor_io.write_outputs(Path(host_path), outs)
        except OSError:
            return False
        return True

    def reset(self) -> int:
        """Drop the run's model, interpreter and inputs; this process's VmData afterwards (kB)."""
        self.data, self.interp, self.inputs = b"", None, []
        gc.collect(1)  # the run's own objects (young generations), not the frozen imports
        return data_kb()

    def pid(self) -> int:
        return os.getpid()
