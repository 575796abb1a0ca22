"""Which benchmark_model build a virtual phone emulates, and the flags each build knows.

Why: real farms run whatever build was fetched, and older builds know fewer flags. The
1.x tool ended the run on a flag it did not know ("Unconsumed cmdline flags"); 2.x only
warns. A profile may pin an older build (`tool_version = "1.15.0"`) so the farm's
capability probe (`--help`) and flag filtering are exercised against a build that really
lacks flags. The 1.15 table lists the flags of benchmark_model.cc and
benchmark_tflite_model.cc at TensorFlow v1.15.0 that the 2.16 table also has; flags that
appeared later (XNNPACK, peak memory, the delegate providers' extras) are absent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from device_agent.virtual.device import VirtualDevice

CURRENT = "2.16.1"
_V1_15 = frozenset(
    {
        "num_runs",
        "min_secs",
        "max_secs",
        "run_delay",
        "num_threads",
        "benchmark_name",
        "output_prefix",
        "warmup_runs",
        "warmup_min_secs",
        "graph",
        "input_layer",
        "input_layer_shape",
        "use_nnapi",
        "nnapi_accelerator_name",
        "use_gpu",
        "allow_fp16",
        "require_full_delegation",
        "enable_op_profiling",
        "max_profiling_buffer_entries",
        "help",
    }
)
VERSIONS: dict[str, frozenset[str] | None] = {CURRENT: None, "1.15.0": _V1_15}  # None: every flag


def version_of(device: VirtualDevice) -> str:
    return device.profile.tool_version or CURRENT


def knows(version: str, flag: str) -> bool:
    known = VERSIONS.get(version)
    return known is None or flag in known


def stops_on_unknown_flags(version: str) -> bool:
    """1.x returned an error from ParseFlags for leftover arguments; 2.x logs a warning and runs."""
    return int(version.split(".", 1)[0]) < 2


def unknown_args(version: str, args: list[str]) -> list[str]:
    """Arguments naming a flag this build does not declare (they stay unconsumed)."""
    out = []
    for arg in args:
        name = arg[2:].partition("=")[0] if arg.startswith("--") else ""
        if name and not knows(version, name):
            out.append(arg)
    return out
