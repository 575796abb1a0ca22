"""Putting files on a phone once: models and the benchmark binary are content-addressed.

A model lives at `/data/local/tmp/phonefarm/<sha256>.tflite`; the name is its hash, so a
file there with the right size is the right file (a push cut short leaves it smaller)
and is not pushed again.
"""

from __future__ import annotations

import io
from pathlib import Path

import adbutils
from adbutils import AdbDevice

from device_agent.phone.shell import DeviceLost, quote_cmd, run

REMOTE_DIR = "/data/local/tmp/phonefarm"


def model_path(sha256: str) -> str:
    return f"{REMOTE_DIR}/{sha256}.tflite"


def binary_path(version: str) -> str:
    return f"{REMOTE_DIR}/benchmark_model-{version}"


def remote_size(device: AdbDevice, path: str) -> int | None:
    try:
        st = device.sync.stat(path)
    except (adbutils.AdbError, OSError) as exc:
        raise DeviceLost(f"lost the phone {device.serial}: {exc}") from exc
    return st.size if st.mode else None


def ensure_file(device: AdbDevice, source: Path | bytes, remote: str, size: int, mode: int = 0o644) -> bool:
    """Push unless the phone already holds it. Returns whether it pushed."""
    if remote_size(device, remote) == size:
        return False
    try:
        src = io.BytesIO(source) if isinstance(source, bytes) else str(source)
        device.sync.push(src, remote, mode=mode)
    except (adbutils.AdbError, OSError) as exc:
        raise DeviceLost(f"push of {remote} to {device.serial} failed: {exc}") from exc
    if remote_size(device, remote) != size:
        raise DeviceLost(f"push of {remote} to {device.serial} was cut short")
    return True


def ensure_executable(device: AdbDevice, source: Path | bytes, remote: str) -> bool:
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    pushed = ensure_file(device, source, remote, size, mode=0o755)
    if pushed:
        run(device, quote_cmd("chmod", "755", remote))
    return pushed
