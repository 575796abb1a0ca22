"""The benchmark_model command line, from a job's spec and nothing else.

Only flags in `FLAGS` exist, each with its type; every value goes through shlex.quote.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from contracts.stub_binary import stub_binary
from device_agent.phone.shell import quote_cmd

DELEGATE_FLAGS: dict[str, dict[str, bool]] = {
    "cpu": {"use_xnnpack": False},
    "xnnpack": {"use_xnnpack": True},
    "gpu": {"use_gpu": True},
    "nnapi": {"use_nnapi": True},
}

FLAGS: dict[str, type] = {
    "num_runs": int,
    "warmup_runs": int,
    "min_secs": float,
    "max_secs": float,
    "warmup_min_secs": float,
    "run_delay": float,
    "enable_op_profiling": bool,
    "report_peak_memory_footprint": bool,
}
GPU_FLAGS: dict[str, type] = {"gpu_precision_loss_allowed": bool}


def _fmt(value: Any, kind: type) -> str:
    if kind is bool:
        return "true" if bool(value) else "false"
    return str(kind(value))


def build_command(binary: str, model: str, delegate: str, threads: int, spec: Mapping[str, Any]) -> str:
    if delegate not in DELEGATE_FLAGS:
        raise ValueError(f"unknown delegate {delegate!r}")
    args = [binary, f"--graph={model}", f"--num_threads={int(threads)}"]
    args += [f"--{k}={_fmt(v, bool)}" for k, v in DELEGATE_FLAGS[delegate].items()]
    allowed = FLAGS | (GPU_FLAGS if delegate == "gpu" else {})
    args += [
        f"--{k}={_fmt(spec[k], kind)}" for k, kind in allowed.items() if k in spec and spec[k] is not None
    ]
    return quote_cmd(*args)


@lru_cache
def binary_for(is_virtual: bool, real_binary: Path | None) -> tuple[bytes, str]:
    """The benchmark binary to push and its version tag (content hash)."""
    if is_virtual:
        data = stub_binary()
    else:
        if real_binary is None:
            raise FileNotFoundError(
                "FARM_BENCHMARK_BINARY is not set: point it at TensorFlow Lite's benchmark_model "
                "built for arm64 (android_aarch64_benchmark_model)."
            )
        data = real_binary.read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:12]
