"""Putting files on a phone once: models and the benchmark binary are content-addressed.

A model lives at `/data/local/tmp/phonefarm/<sha256>.tflite`. What is there is checked by
its sha256 (`sha256sum` on the phone, one round trip for all files) before every run: a
file cut short, or a same-size different file, is pushed again. A phone without
`sha256sum` (very old toybox) falls back to comparing sizes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from adbutils import AdbDevice

from device_agent.phone.shell import TRANSPORT_ERRORS, DeviceLost, quote_cmd, run

REMOTE_DIR = "/data/local/tmp/phonefarm"


def model_path(sha256: str) -> str:
    return f"{REMOTE_DIR}/{sha256}.tflite"


def binary_path(version: str) -> str:
    return f"{REMOTE_DIR}/benchmark_model-{version}"


@dataclass(frozen=True)
class Upload:
    source: Path | bytes
    remote: str
    sha256: str
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


def remote_hashes(device: AdbDevice, paths: list[str]) -> dict[str, str] | None:
    """sha256 of the files that exist, in one shell round trip; None if the phone has no sha256sum."""
    out = run(device, quote_cmd("sha256sum", *paths) + " 2>/dev/null; echo __PF_HASH__$?").output
    body, _, _code = out.rpartition("__PF_HASH__")
    hashes = {}
    for line in body.splitlines():
        digest, _, name = line.strip().partition(" ")
        name = name.lstrip(" *")
        if len(digest) == 64 and name:
            hashes[name] = digest.lower()
    if not hashes and ("not found" in body or _code.strip() == "127"):
        return None
    return hashes


def _missing(device: AdbDevice, uploads: list[Upload]) -> list[Upload]:
    """The uploads whose file on the phone is absent or not byte-for-byte the one wanted."""
    hashes = remote_hashes(device, [u.remote for u in uploads])
    if hashes is not None:
        return [u for u in uploads if hashes.get(u.remote) != u.sha256]
    sizes = remote_sizes(device, [u.remote for u in uploads])
    return [u for u in uploads if sizes.get(u.remote) != u.size]


def ensure(device: AdbDevice, uploads: list[Upload]) -> list[str]:
    """Push what the phone lacks (or holds damaged); chmod executables. Returns what was pushed."""
    todo = _missing(device, uploads)
    for u in todo:
        try:
            src = io.BytesIO(u.source) if isinstance(u.source, bytes) else str(u.source)
            device.sync.push(src, u.remote, mode=0o755 if u.executable else 0o644)
        except TRANSPORT_ERRORS as exc:
            raise DeviceLost(f"push of {u.remote} to {device.serial} failed: {exc!r}") from exc
    if todo:
        if execs := [u.remote for u in todo if u.executable]:
            run(device, quote_cmd("chmod", "755", *execs))
        if bad := _missing(device, todo):
            raise DeviceLost(
                f"push of {', '.join(u.remote for u in bad)} to {device.serial} was cut short or damaged"
            )
    return [u.remote for u in todo]
