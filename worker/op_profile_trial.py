"""The op-profile trial: one extra benchmark_model invocation, after the measured ones, that says why.

Why separate from the measured trials: op profiling wraps every node in a timer, which
changes the timings, so its numbers never enter the statistics. It runs once per run when
the job's ``op_profile`` option asks for it (default: on for gpu and nnapi, where "which ops
fell back to the CPU" is the question), writes the profiler's CSV on the phone, and the
worker pulls that file. Builds without ``--op_profiling_output_mode`` say "Unconsumed
cmdline flags"; the trial is then repeated with ``--enable_op_profiling=true`` alone and the
stdout tables are read instead. A failed profile trial never fails the run: the measured
result stands, with the reason the profile is missing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import adbutils
from adbutils import AdbDevice

from device_agent import op_profile
from device_agent.phone import benchmark, install
from device_agent.phone.shell import quote_cmd, run

log = logging.getLogger("phonefarm.worker")
MAX_CSV_BYTES = 4 * 1024 * 1024
PROFILED_BY_DEFAULT = ("gpu", "nnapi")


def wanted(spec: Mapping[str, Any], delegate: str) -> bool:
    """The job's `op_profile` option; unset means on for the accelerators."""
    value = spec.get("op_profile")
    return bool(value) if value is not None else delegate in PROFILED_BY_DEFAULT


def _pull(device: AdbDevice, remote: str) -> str | None:
    size = install.remote_sizes(device, [remote]).get(remote)
    if size is None or size > MAX_CSV_BYTES:
        return None
    try:
        return bytes(device.sync.read_bytes(remote)).decode("utf-8", "replace")
    except (adbutils.AdbError, OSError):
        return None


def profile_trial(
    device: AdbDevice,
    binary: str,
    model: str,
    delegate: str,
    threads: int,
    spec: Mapping[str, Any],
    *,
    run_id: int,
    timeout: float,
) -> dict[str, Any]:
    """Run the profile trial and return the placement (as stored in the result's env)."""
    short = {k: v for k, v in spec.items() if k not in ("enable_op_profiling",)}
    # a few inferences suffice for a per-op split; bounded so the trial costs little phone time
    short |= {"num_runs": min(int(spec.get("num_runs", 50)), 20), "min_secs": 0.0, "max_secs": 60.0}
    base = benchmark.build_command(binary, model, delegate, threads, short | {"enable_op_profiling": True})
    remote = f"{install.REMOTE_DIR}/op_profile-{int(run_id)}.csv"
    command = base + " " + quote_cmd("--op_profiling_output_mode=csv", f"--op_profiling_output_file={remote}")
    out = run(device, command, timeout=timeout)
    csv_text: str | None = None
    if "Unconsumed cmdline flags" in out.output and "op_profiling_output" in out.output:
        command = base  # an older build: tables on stdout only
        out = run(device, command, timeout=timeout)
    else:
        csv_text = _pull(device, remote)
        run(device, quote_cmd("rm", "-f", remote))
    if out.exit_code != 0:
        return {"error": f"op-profile trial exited with {out.exit_code}", "command": command}
    placement = op_profile.placement(delegate, out.output, csv_text)
    return placement.as_dict() | {"command": command}


def maybe_profile(
    device: AdbDevice,
    binary: str,
    model: str,
    delegate: str,
    threads: int,
    spec: Mapping[str, Any],
    *,
    run_id: int,
    timeout: float,
) -> dict[str, Any] | None:
    """The placement when the job asks for a profile; never raises for a bad profile trial."""
    if not wanted(spec, delegate):
        return None
    try:
        return profile_trial(device, binary, model, delegate, threads, spec, run_id=run_id, timeout=timeout)
    except Exception as exc:  # the measured result stands without its profile
        log.warning("run=%s op-profile trial failed: %r", run_id, exc)
        return {"error": f"op-profile trial failed: {exc}"}
