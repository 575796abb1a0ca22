"""Putting files on a phone once: models and the benchmark binary are content-addressed.

A model lives at `/data/local/tmp/phonefarm/<sha256>.tflite`. What is there is checked by
its sha256 (`sha256sum` on the phone, one round trip for all files): a file cut short, or a
same-size different file, is pushed again. A phone without `sha256sum` (very old toybox)
falls back to comparing sizes.

Hashing a 100 MB model on a phone takes it a good part of a second, on every run. So a file
of `CACHE_FROM_BYTES` or more whose sha256 the phone confirmed is remembered with its size,
mtime and inode (`stat`, one round trip like `sha256sum` but no reading); the next run that
finds the same three skips the hash. A rewrite changes them (adb push unlinks and creates,
shell writes set the mtime) unless it keeps the size, lands in the same second and the
filesystem hands the freed inode back; for that, and for damage that leaves metadata alone,
every file is hashed again at least every `REHASH_S`, and a file pushed here is always
hashed. Smaller files are hashed every time: it costs the phone no more than `stat`.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path

from adbutils import AdbDevice

from device_agent.phone.shell import TRANSPORT_ERRORS, DeviceLost, quote_cmd, run

REMOTE_DIR = "/data/local/tmp/phonefarm"
REHASH_S = 600.0
CACHE_FROM_BYTES = 4 << 20
_VERIFIED: dict[tuple[str, str], tuple[str, str, float]] = {}
"""(serial, remote path) → (sha256 the phone confirmed, its `stat` signature, when hashed)."""


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


STAT_FORMAT = "%s %Y %i %n"


def _parse_stats(out: str) -> dict[str, str]:
    stats = {}
    for line in out.splitlines():
        size, mtime, inode, name = [*line.strip().split(" ", 3), "", "", "", ""][:4]
        if size.isdecimal() and mtime.isdecimal() and inode.isdecimal() and name:
            stats[name] = f"{size} {mtime} {inode}"
    return stats


def remote_hashes(device: AdbDevice, paths: list[str]) -> dict[str, str] | None:
    """sha256 of the files that exist, in one shell round trip; None if the phone has no sha256sum."""
    return _stats_and_hashes(device, paths)[1]


def _stats_and_hashes(device: AdbDevice, paths: list[str]) -> tuple[dict[str, str], dict[str, str] | None]:
    """`stat` then `sha256sum` of the files, in one round trip: the metadata is read before the
    bytes are hashed, so a file rewritten in between shows as changed on the next check."""
    stat = quote_cmd("stat", "-c", STAT_FORMAT, *paths) + " 2>/dev/null; echo __PF_STAT__; "
    out = run(device, stat + quote_cmd("sha256sum", *paths) + " 2>/dev/null; echo __PF_HASH__$?").output
    stats_out, _, rest = out.partition("__PF_STAT__")
    body, _, _code = rest.rpartition("__PF_HASH__")
    hashes = {}
    for line in body.splitlines():
        digest, _, name = line.strip().partition(" ")
        name = name.lstrip(" *")
        if len(digest) == 64 and name:
            hashes[name] = digest.lower()
    if not hashes and ("not found" in body or _code.strip() == "127"):
        return _parse_stats(stats_out), None
    return _parse_stats(stats_out), hashes


def remote_stats(device: AdbDevice, paths: list[str]) -> dict[str, str]:
    """`size mtime inode` of the files that exist, in one shell round trip."""
    return _parse_stats(run(device, quote_cmd("stat", "-c", STAT_FORMAT, *paths) + " 2>/dev/null").output)


def _still_verified(device: AdbDevice, uploads: list[Upload]) -> bool:
    """True when every file was hashed here lately and `stat` says none changed since."""
    now = time.monotonic()
    known = [_VERIFIED.get((str(device.serial), u.remote)) for u in uploads]
    if any(
        k is None or k[0] != u.sha256 or now - k[2] > REHASH_S for k, u in zip(known, uploads, strict=True)
    ):
        return False
    stats = remote_stats(device, [u.remote for u in uploads])
    return all(k is not None and stats.get(u.remote) == k[1] for k, u in zip(known, uploads, strict=True))


def _missing(device: AdbDevice, uploads: list[Upload]) -> list[Upload]:
    """The uploads whose file on the phone is absent or not byte-for-byte the one wanted."""
    serial = str(device.serial)
    for u in uploads:
        _VERIFIED.pop((serial, u.remote), None)
    stats, hashes = _stats_and_hashes(device, [u.remote for u in uploads])
    if hashes is None:
        sizes = remote_sizes(device, [u.remote for u in uploads])
        return [u for u in uploads if sizes.get(u.remote) != u.size]
    now = time.monotonic()
    for u in uploads:
        if hashes.get(u.remote) == u.sha256 and u.remote in stats and u.size >= CACHE_FROM_BYTES:
            _VERIFIED[(serial, u.remote)] = (u.sha256, stats[u.remote], now)
    return [u for u in uploads if hashes.get(u.remote) != u.sha256]


def ensure(device: AdbDevice, uploads: list[Upload]) -> list[str]:
    """Push what the phone lacks (or holds damaged); chmod executables. Returns what was pushed."""
    if _still_verified(device, uploads):
        return []
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
