"""The numerics trial of a benchmark run: one fixed input through the model, the outputs kept.

Why: "does the GPU change my answer" needs the same input on every delegate of a phone.
With the job option ``numerics: true`` each run, after its measured trials, feeds every
model input a deterministic tensor (the same seed on every phone and delegate) through
benchmark_model's ``--input_layer_value_files`` and keeps what ``--output_filepath``
wrote. The server compares each non-CPU delegate's outputs with the CPU run of the same
phone when the job is read (server/inferences/benchmark_numerics.py). A failed trial never
fails the measured run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from adbutils import AdbDevice

from contracts.settings import get_settings
from contracts.tflite import TensorInfo, inspect_tflite
from device_agent.phone import benchmark, install
from device_agent.phone.shell import quote_cmd, run

log = logging.getLogger("phonefarm.worker")
SEED = 20261202
DTYPES = {
    "FLOAT32": np.float32,
    "FLOAT16": np.float16,
    "UINT8": np.uint8,
    "INT8": np.int8,
    "INT32": np.int32,
    "INT64": np.int64,
    "INT16": np.int16,
    "BOOL": np.bool_,
}
MAX_OUTPUT_BYTES = 256 * 1024 * 1024


def wanted(spec: Mapping[str, Any]) -> bool:
    return bool(spec.get("numerics"))


def fixed_input(info: TensorInfo, index: int) -> np.ndarray:
    """The same tensor for a given input on every phone and delegate."""
    rng = np.random.default_rng(SEED + index)
    shape = [max(1, int(d)) for d in info.shape]
    dtype = np.dtype(DTYPES[info.dtype])
    if dtype.kind == "f":
        return rng.uniform(-1.0, 1.0, size=shape).astype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(dtype)
    if dtype.kind in "iu":
        lo, hi = (0, 255) if dtype == np.uint8 else (-128, 127) if dtype == np.int8 else (0, 9)
        return rng.integers(lo, hi + 1, size=shape).astype(dtype)
    raise ValueError(f"no fixed input for type {info.dtype}")


def output_size(outputs: list[TensorInfo]) -> int:
    return sum(int(np.prod(o.shape)) * np.dtype(DTYPES[o.dtype]).itemsize for o in outputs)


def numerics_trial(
    device: AdbDevice,
    binary: str,
    model: str,
    claim: Any,
    *,
    timeout: float,
) -> dict[str, Any]:
    info = inspect_tflite(Path(claim.model_path).read_bytes())
    if any(i.dtype not in DTYPES or any(d < 1 for d in i.shape) for i in [*info.inputs, *info.outputs]):
        return {"error": "inputs or outputs of dynamic shape or unknown type: no fixed input"}
    where = get_settings().data_dir.resolve() / "numerics" / str(int(claim.job_id))
    where.mkdir(parents=True, exist_ok=True)
    uploads, files = [], []
    for i, t in enumerate(info.inputs):
        local = where / f"input-{i}.bin"
        if not local.exists():
            local.write_bytes(fixed_input(t, i).tobytes())
        remote = f"{install.REMOTE_DIR}/numerics-{claim.model_sha256[:16]}-{i}.bin"
        uploads.append(install.Upload(local, remote))
        files.append(f"{t.name.replace(':', '::')}:{remote}")
    install.ensure(device, uploads)
    one = dict(claim.spec) | {"num_runs": 1, "warmup_runs": 0, "min_secs": 0.0, "warmup_min_secs": 0.0}
    one.pop("enable_op_profiling", None)
    output_remote = f"{install.REMOTE_DIR}/numerics-out-{int(claim.run_id)}.bin"
    command = (
        benchmark.build_command(binary, model, claim.delegate, claim.threads, one)
        + " "
        + quote_cmd(
            "--input_layer=" + ",".join(t.name for t in info.inputs),
            "--input_layer_shape=" + ":".join(",".join(str(d) for d in t.shape) for t in info.inputs),
            "--input_layer_value_files=" + ",".join(files),
            f"--output_filepath={output_remote}",
        )
    )
    out = run(device, command, timeout=timeout)
    try:
        if out.exit_code != 0:
            return {"error": f"numerics trial exited with {out.exit_code}", "command": command}
        expected = output_size(info.outputs)
        size = install.remote_sizes(device, [output_remote]).get(output_remote)
        if size != expected or expected > MAX_OUTPUT_BYTES:
            return {"error": f"numerics trial wrote {size} output bytes, the model declares {expected}"}
        local_out = where / f"run-{int(claim.run_id)}.bin"
        local_out.write_bytes(bytes(device.sync.read_bytes(output_remote)))
    finally:
        run(device, quote_cmd("rm", "-f", output_remote))
    return {"output_path": str(local_out), "output_bytes": expected, "seed": SEED, "command": command}


def maybe_numerics(
    device: AdbDevice, binary: str, model: str, claim: Any, *, timeout: float
) -> dict[str, Any] | None:
    if not wanted(claim.spec):
        return None
    try:
        return numerics_trial(device, binary, model, claim, timeout=timeout)
    except Exception as exc:  # the measured result stands without its numerics
        log.warning("run=%s numerics trial failed: %r", claim.run_id, exc)
        return {"error": f"numerics trial failed: {exc}"}
