"""The numerics trial of a benchmark run: one fixed input through the model, the outputs kept.

Why: "does the GPU change my answer" needs the same input on every delegate of a phone.
With the job option ``numerics: true`` each run, after its measured trials, feeds every
model input a deterministic tensor (the same seed on every phone and delegate) through
benchmark_model's ``--input_layer_value_files`` and keeps what ``--output_filepath``
wrote. The server compares each non-CPU delegate's outputs with the CPU run of the same
phone when the job is read (server/inferences/benchmark_numerics.py). A failed trial never
fails the measured run.

The trial's output passes through a scratch directory of the run's own (under the worker's
data dir, never the API's `numerics/`, which an embedded farm shares): it is removed once the
output is uploaded, and also when the trial or the upload fails, so a worker that runs
numerics jobs for months does not fill its disk with them.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from adbutils import AdbDevice

from contracts.jobs import BenchmarkSpec
from contracts.runs import Claim
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


def wanted(spec: BenchmarkSpec) -> bool:
    return spec.numerics


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
    claim: Claim,
    model_local: Path,
    scratch: Path,
    *,
    timeout: float,
) -> dict[str, Any]:
    """Run the fixed input once; the output is pulled into `scratch` (`output_local`) for upload."""
    info = inspect_tflite(model_local.read_bytes())
    if any(i.dtype not in DTYPES or any(d < 1 for d in i.shape) for i in [*info.inputs, *info.outputs]):
        return {"error": "inputs or outputs of dynamic shape or unknown type: no fixed input"}
    uploads, files = [], []
    for i, t in enumerate(info.inputs):
        data = fixed_input(t, i).tobytes()
        remote = f"{install.REMOTE_DIR}/numerics-{claim.model.sha256[:16]}-{i}.bin"
        uploads.append(install.Upload(data, remote, hashlib.sha256(data).hexdigest()))
        files.append(f"{t.name.replace(':', '::')}:{remote}")
    install.ensure(device, uploads)
    one = claim.spec.model_copy(
        update={
            "num_runs": 1,
            "warmup_runs": 0,
            "min_secs": 0.0,
            "warmup_min_secs": 0.0,
            "enable_op_profiling": False,
        }
    )
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
        local_out = scratch / f"run-{int(claim.run_id)}.bin"
        local_out.write_bytes(bytes(device.sync.read_bytes(output_remote)))
    finally:
        run(device, quote_cmd("rm", "-f", output_remote))
    return {"output_local": str(local_out), "output_bytes": expected, "seed": SEED, "command": command}


def scratch_root() -> Path:
    """Where this worker's runs keep files for a moment (each run in a directory of its own)."""
    return get_settings().data_dir.resolve() / "scratch"


def sweep_stale_scratch(max_age_s: float) -> int:
    """Remove run directories left in scratch/ by a worker killed mid-trial (SIGKILL, power cut):
    only those older than `max_age_s`, so a run of another worker process sharing this data dir
    is never touched. Returns how many were removed."""
    root = scratch_root()
    if not root.is_dir():
        return 0
    cutoff = time.time() - max_age_s
    removed = 0
    for entry in root.iterdir():
        try:
            if entry.lstat().st_mtime >= cutoff:
                continue
        except OSError:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    if removed:
        log.info("removed %d stale scratch entr%s under %s", removed, "y" if removed == 1 else "ies", root)
    return removed


def maybe_numerics(
    device: AdbDevice,
    binary: str,
    model: str,
    claim: Claim,
    model_local: Path,
    *,
    timeout: float,
    upload: Callable[[Path], object],
) -> dict[str, Any] | None:
    """The numerics trial's record, after `upload` sent its output (POST /runs/{id}/numerics-output;
    the server records its own copy's path). The scratch directory goes whatever happens."""
    if not wanted(claim.spec):
        return None
    root = scratch_root()
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"numerics-run-{int(claim.run_id)}-", dir=root) as scratch:
        try:
            record = numerics_trial(device, binary, model, claim, model_local, Path(scratch), timeout=timeout)
        except Exception as exc:  # the measured result stands without its numerics
            log.warning("run=%s numerics trial failed: %r", claim.run_id, exc)
            return {"error": f"numerics trial failed: {exc}"}
        local = record.pop("output_local", None)
        if local is None:
            return record
        try:
            upload(Path(local))
        except Exception as exc:  # the measured result stands without its numerics
            log.warning("run=%s numerics output upload failed: %r", claim.run_id, exc)
            return {"error": f"numerics output upload failed: {exc}"}
        return record
