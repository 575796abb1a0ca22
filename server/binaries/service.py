"""Registering, listing, choosing and probing benchmark_model binaries.

A binary is content-addressed (`<store>/<sha256>` under FARM_DATA_DIR/binaries), its ABI
read from the ELF header (an `--abi` given by the operator must agree with it), so the
same bytes added twice are one binary and a phone is never pushed a file it cannot run.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.binaries import BinaryInfo, choose_binary, fix_command, missing_message, split_abilist
from contracts.elf import HEADER_BYTES, ElfError, read_elf
from contracts.settings import get_settings
from contracts.vocabulary import Abi
from server.api.errors import NotFound, ProblemError
from server.binaries.models import BenchmarkBinary
from server.db import utcnow
from server.devices.models import Device

log = logging.getLogger("phonefarm.binaries")
CHUNK = 1 << 20
MAX_BINARY_MB = 512  # the Flex builds are ~150 MB; nothing legitimate is larger
SHA_RE = re.compile(r"^[0-9a-f]{8,64}$")


def _spool(stream: BinaryIO) -> tuple[Path, str, int, bytes]:
    store = get_settings().binary_store
    store.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    fd, tmp = tempfile.mkstemp(dir=store, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                if len(head) < HEADER_BYTES:
                    head += chunk[: HEADER_BYTES - len(head)]
                size += len(chunk)
                if size > MAX_BINARY_MB << 20:
                    raise ProblemError(
                        413, "Binary too large", f"The file is larger than {MAX_BINARY_MB} MiB."
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp), digest.hexdigest(), size, head


def store_binary(
    db: Session,
    stream: BinaryIO,
    *,
    abi: str | None = None,
    flex: bool = False,
    source_url: str | None = None,
    added_by: str | None = None,
) -> tuple[BenchmarkBinary, bool]:
    """Validate (ELF executable for an Android ABI) and store. Returns the binary and whether it was new."""
    tmp, sha, size, head = _spool(stream)
    try:
        try:
            info = read_elf(head)
        except ElfError as exc:
            raise ProblemError(422, "Not a benchmark_model binary", f"The file is refused: {exc}.") from exc
        if abi is not None and Abi(abi) != info.abi:
            raise ProblemError(
                422,
                "ABI mismatch",
                f"--abi {abi} was given but the ELF header says {info.abi.value} "
                f"({info.bits}-bit machine {info.machine}): fetch the {abi} build instead.",
            )
        existing = db.scalar(select(BenchmarkBinary).where(BenchmarkBinary.sha256 == sha))
        if existing is not None:
            if source_url and not existing.source_url:
                existing.source_url = source_url
            existing.flex = existing.flex or flex
            return existing, False
        final = get_settings().binary_store / sha
        os.replace(tmp, final)
        binary = BenchmarkBinary(
            sha256=sha,
            abi=info.abi.value,
            flex=flex,
            size_bytes=size,
            path=str(final.resolve()),
            source_url=source_url,
            added_by=added_by,
        )
        db.add(binary)
        db.flush()
        return binary, True
    finally:
        tmp.unlink(missing_ok=True)


def add_file(db: Session, path: Path, **kwargs: object) -> tuple[BenchmarkBinary, bool]:
    with path.open("rb") as fh:
        return store_binary(db, fh, **kwargs)  # type: ignore[arg-type]


def list_binaries(db: Session) -> list[BenchmarkBinary]:
    return list(db.scalars(select(BenchmarkBinary).order_by(BenchmarkBinary.id.desc())))


def find_binary(db: Session, ref: str) -> BenchmarkBinary:
    """A binary by its sha256 or a unique prefix of 8+ hex digits."""
    if not SHA_RE.match(ref):
        raise ProblemError(422, "Invalid sha256", "Give the binary's sha256 (8 to 64 lowercase hex digits).")
    rows = list(db.scalars(select(BenchmarkBinary).where(BenchmarkBinary.sha256.startswith(ref)).limit(2)))
    if not rows:
        raise NotFound("binary", ref)
    if len(rows) > 1:
        raise ProblemError(
            409, "Ambiguous sha256", f"More than one binary starts with {ref}: give more digits."
        )
    return rows[0]


def remove_binary(db: Session, ref: str) -> BenchmarkBinary:
    binary = find_binary(db, ref)
    db.delete(binary)
    db.flush()
    Path(binary.path).unlink(missing_ok=True)
    return binary


def binary_file(db: Session, sha256: str) -> Path:
    """The stored file of a binary (what `GET /binaries/{sha}/file` serves)."""
    binary = find_binary(db, sha256)
    path = Path(binary.path)
    if not path.is_file():
        raise ProblemError(
            410, "Binary file missing", f"{path} is gone from the store: 'farm binary add' it again."
        )
    return path


def infos(db: Session) -> list[BinaryInfo]:
    return [
        BinaryInfo(
            sha256=b.sha256,
            abi=b.abi,
            flex=b.flex,
            id=b.id,
            tool_version=b.tool_version,
            flags=tuple(b.flags) if b.flags is not None else None,
        )
        for b in list_binaries(db)
    ]


def device_abilist(device: Device) -> list[str]:
    return split_abilist(device.abilist, device.abi)


def needs_flex(operators: Sequence[str]) -> bool:
    """Select TF ops are stored as their custom codes, which all start with `Flex`."""
    return any(op.startswith("Flex") for op in operators)


def check_devices(db: Session, devices: Sequence[Device], needs_flex: bool) -> None:
    """409 at submit time when a chosen phone has no binary: the host's mistake, said with its fix."""
    known = infos(db)
    for device in devices:
        abilist = device_abilist(device)
        if choose_binary(known, abilist, needs_flex) is None:
            abi = abilist[0] if abilist else "unknown"
            raise ProblemError(
                409,
                "No benchmark binary for this phone",
                missing_message(abilist, needs_flex, device.serial),
                abi=abi,
                fix=fix_command(abi, needs_flex),
            )


def record_probe(db: Session, sha256: str, version: str | None, flags: Sequence[str]) -> None:
    """Store what `--help` said; the first probe wins (the same bytes say the same thing)."""
    binary = db.scalar(select(BenchmarkBinary).where(BenchmarkBinary.sha256 == sha256))
    if binary is None or binary.flags is not None:
        return
    binary.flags = list(flags)
    binary.tool_version = binary.tool_version or (version[:64] if version else None)
    binary.probed_at = utcnow()


def record_version(db: Session, sha256: str, version: str) -> None:
    binary = db.scalar(select(BenchmarkBinary).where(BenchmarkBinary.sha256 == sha256))
    if binary is not None and binary.tool_version is None:
        binary.tool_version = version[:64]


STAND_IN = "phonefarm:virtual-stand-in"


def ensure_stand_ins(db: Session, abis: Sequence[str]) -> list[BenchmarkBinary]:
    """For a demo farm of virtual phones (`farm up`): an ELF header per ABI that virtual phones
    emulate as benchmark_model, registered only where no real build exists. A real phone would
    fail on it, so `farm doctor` flags a real phone left with a stand-in."""
    import io

    from contracts.elf import fake_elf

    have = {b.abi for b in list_binaries(db)}
    out = []
    for abi in dict.fromkeys(abis):
        if abi in have or abi not in {a.value for a in Abi}:
            continue
        note = b"\nPhoneFarm stand-in: virtual phones emulate this as benchmark_model; real phones cannot run it.\n"
        binary, _ = store_binary(db, io.BytesIO(fake_elf(abi, note)), source_url=STAND_IN, added_by="farm up")
        out.append(binary)
    return out


def register_configured(db: Session) -> BenchmarkBinary | None:
    """FARM_BENCHMARK_BINARY, when set, is a shortcut for `farm binary add` at start-up."""
    path = get_settings().benchmark_binary
    if path is None:
        return None
    binary, created = add_file(
        db, Path(path), source_url=f"file://{Path(path).resolve()}", added_by="FARM_BENCHMARK_BINARY"
    )
    if created:
        log.info("registered %s (%s) from FARM_BENCHMARK_BINARY", binary.sha256[:12], binary.abi)
    return binary
