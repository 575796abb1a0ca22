"""Putting files on a phone once: models and the benchmark binary are content-addressed.

A model lives at `/data/local/tmp/phonefarm/<sha256>.tflite`; the name is its hash, so a
file there with the right size is the right file (a push cut short leaves it smaller)
and is not pushed again.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import adbutils
from adbutils import AdbDevice

from device_agent.phone.shell import DeviceLost, quote_cmd, run

REMOTE_DIR = "/data/local/tmp/phonefarm"


def model_path(sha256: str) -> str:
    return f"{REMOTE_DIR}/{sha256}.tflite"


def binary_path(version: str) -> str:
    return f"{REMOTE_DIR}/benchmark_model-{version}"


@dataclass(frozen=True)
class Upload:
    source: Path | bytes
    remote: str
    executable: bool = False

    @property
    def size(self) -> int:
        return len(self.source) if isinstance(self.source, bytes) else self.source.stat().st_size


def remote_sizes(device: AdbDevice, paths: list[str]) -> dict[str, int]:
    """Sizes of the files that exist, in one shell round trip (toybox `stat -c`)."""
    out = run(device, quote_cmd("stat", "-c", "%s %n", *paths) + " 2>/dev/null").output
    sizes = {}
    for line in out.splitlines():
        size, _, name = line.strip().partition(" ")
        if size.isdecimal() and name:
            sizes[name] = int(size)
    return sizes


def ensure(device: AdbDevice, uploads: list[Upload]) -> list[str]:
    """Push what the phone lacks (or holds cut short); chmod executables. Returns what was pushed."""
    have = remote_sizes(device, [u.remote for u in uploads])
    todo = [u for u in uploads if have.get(u.remote) != u.size]
    for u in todo:
        try:
            src = io.BytesIO(u.source) if isinstance(u.source, bytes) else str(u.source)
            device.sync.push(src, u.remote, mode=0o755 if u.executable else 0o644)
        except (adbutils.AdbError, OSError) as exc:
            raise DeviceLost(f"push of {u.remote} to {device.serial} failed: {exc}") from exc
    if todo:
        if execs := [u.remote for u in todo if u.executable]:
            run(device, quote_cmd("chmod", "755", *execs))
        have = remote_sizes(device, [u.remote for u in todo])
        if short := [u.remote for u in todo if have.get(u.remote) != u.size]:
            raise DeviceLost(f"push of {', '.join(short)} to {device.serial} was cut short")
    return [u.remote for u in todo]
