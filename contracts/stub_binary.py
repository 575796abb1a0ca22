"""The file the farm pushes to a virtual phone in place of the arm64 `benchmark_model`.

The farm's phone library and the virtual phone both need this format: the worker pushes
it (device_agent.phone.benchmark) and the virtual phone's shell recognises it by its
first bytes and runs its emulated benchmark tool. It lives in contracts so the farm's
real-phone code never imports the virtual phone.
"""

from __future__ import annotations

STUB_MAGIC = b"#!/system/bin/phonefarm-benchmark_model"
TOOL_VERSION = "2.16.1"


def stub_binary(version: str = TOOL_VERSION) -> bytes:
    """The file pushed to a virtual phone in place of the arm64 benchmark_model binary."""
    return (
        STUB_MAGIC
        + f" {version}\n".encode()
        + b"# PhoneFarm virtual phone: executing this file runs TensorFlow Lite's benchmark_model\n"
        + b"# emulated on the host (device_agent/virtual/benchmark_tool.py). Not an ARM binary.\n"
    )
