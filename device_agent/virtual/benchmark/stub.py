"""The file pushed to a virtual phone in place of the arm64 `benchmark_model` binary.

Why a stub at all: older farms pushed this text file instead of an ELF; it still runs as the
tool on a phone that does not run binaries as real (see program.py).
"""

from __future__ import annotations

from device_agent.virtual.benchmark_flags import TOOL_VERSION

STUB_MAGIC = b"#!/system/bin/phonefarm-benchmark_model"


def stub_binary(version: str = TOOL_VERSION) -> bytes:
    """The file pushed to a virtual phone in place of the arm64 benchmark_model binary."""
    return (
        STUB_MAGIC
        + f" {version}\n".encode()
        + b"# PhoneFarm virtual phone: executing this file runs TensorFlow Lite's benchmark_model\n"
        + b"# emulated on the host (device_agent/virtual/benchmark/). Not an ARM binary.\n"
    )
