"""The benchmark_model command line, from a job's spec and nothing else.

Only flags in `FLAGS` exist, each with its type; every value goes through shlex.quote.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

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


def _wanted(delegate: str, threads: int, spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(flag, value) pairs the job asks for, --graph aside."""
    if delegate not in DELEGATE_FLAGS:
        raise ValueError(f"unknown delegate {delegate!r}")
    out = [("num_threads", str(int(threads)))]
    out += [(k, _fmt(v, bool)) for k, v in DELEGATE_FLAGS[delegate].items()]
    allowed = FLAGS | (GPU_FLAGS if delegate == "gpu" else {})
    out += [(k, _fmt(spec[k], kind)) for k, kind in allowed.items() if k in spec and spec[k] is not None]
    return out


def build_command(
    binary: str,
    model: str,
    delegate: str,
    threads: int,
    spec: Mapping[str, Any],
    supported: Collection[str] | None = None,
) -> str:
    """The command line; with `supported` (from the binary's `--help`) only flags it knows are passed."""
    args = [binary, f"--graph={model}"]
    args += [f"--{k}={v}" for k, v in _wanted(delegate, threads, spec) if supported is None or k in supported]
    return quote_cmd(*args)


def unapplied(
    delegate: str, threads: int, spec: Mapping[str, Any], supported: Collection[str] | None
) -> list[str]:
    """Requested settings the binary cannot take (`flag=value`), recorded with the result."""
    if supported is None:
        return []
    return [f"{k}={v}" for k, v in _wanted(delegate, threads, spec) if k not in supported]


def missing_delegate_flag(delegate: str, supported: Collection[str] | None) -> str | None:
    """The flag that turns the delegate on, when this build lacks it (the run would measure
    something else: that is the binary's limit, not a setting to skip quietly)."""
    if supported is None:
        return None
    on = [k for k, v in DELEGATE_FLAGS[delegate].items() if v]
    return next((k for k in on if k not in supported), None)
