"""The benchmark_model a run uses: chosen by the phone's ABI list, probed once per build.

Why here and not in the runner: the rule is the same for every phone, virtual or not (the
phone says what it runs in `ro.product.cpu.abilist`), and a farm that lacks a binary is the
host's mistake, raised as `HostMisconfigured` so the run fails without blaming the phone.
The capability probe runs `--help` the first time any phone runs a build (by sha256) and
stores the flags it declares; later runs pass only those and record what was left out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from adbutils import AdbDevice
from sqlalchemy import select

from contracts.binaries import BinaryInfo, choose_binary, missing_message, parse_help, split_abilist
from device_agent.phone.shell import quote_cmd, run
from server.binaries import service
from server.db import session_scope
from server.models.models import Model

log = logging.getLogger("phonefarm.worker")


class HostMisconfigured(Exception):
    """The farm, not the phone, lacks what the run needs (a binary for its ABI, a stored file)."""


@dataclass(frozen=True)
class Chosen:
    info: BinaryInfo
    local: Path


def phone_abilist(device: AdbDevice) -> list[str]:
    out = run(device, "getprop ro.product.cpu.abilist; getprop ro.product.cpu.abi").output.splitlines()
    lines = [ln.strip() for ln in out] + ["", ""]
    return split_abilist(lines[0][:256], lines[1][:32] or None)


def choose(device: AdbDevice, model_sha256: str) -> Chosen:
    abilist = phone_abilist(device)
    with session_scope() as db:
        operators = db.scalar(select(Model.operators).where(Model.sha256 == model_sha256)) or []
        flex = service.needs_flex(operators)
        info = choose_binary(service.infos(db), abilist, flex)
        if info is None:
            raise HostMisconfigured(missing_message(abilist, flex, device.serial))
        try:
            local = service.binary_file(db, info.sha256)
        except Exception as exc:
            raise HostMisconfigured(f"benchmark binary {info.sha256[:12]} ({info.abi}): {exc}") from exc
    return Chosen(info, local)


def supported_flags(device: AdbDevice, info: BinaryInfo, remote: str) -> frozenset[str] | None:
    """The flags this build declares; probed with `--help` on first use. None: unknown (pass all)."""
    if info.flags is not None:
        return frozenset(info.flags)
    # `--help=true`: Flags::Parse only takes `--name=value`; the tool prints usage and exits 1
    result = run(device, quote_cmd(remote, "--help=true"))
    if result.exit_code in (126, 127):  # the phone cannot execute it at all: the build is wrong for it
        raise HostMisconfigured(
            f"benchmark binary {info.sha256[:12]} ({info.abi}) does not execute on {device.serial}: "
            f"{result.output.strip()[-200:]}; remove it ('farm binary remove {info.sha256[:12]}') "
            f"and 'farm binary fetch --abi {info.abi}'"
        )
    caps = parse_help(result.output)
    if not caps.flags:
        log.warning("binary %s printed no flags for --help: passing every flag", info.sha256[:12])
        return None
    with session_scope() as db:
        service.record_probe(db, info.sha256, caps.version, caps.flags)
    log.info("binary %s probed: %d flags, version %s", info.sha256[:12], len(caps.flags), caps.version)
    return frozenset(caps.flags)


def note_version(info: BinaryInfo, version: str | None) -> None:
    """The version line of a real run, when `--help` did not print one."""
    if version and info.tool_version is None:
        with session_scope() as db:
            service.record_version(db, info.sha256, version)
