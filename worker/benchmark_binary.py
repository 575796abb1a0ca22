"""The benchmark_model a run uses: chosen by the phone's ABI list, probed once per build.

Why here and not in the runner: the rule is the same for every phone, virtual or not (the
phone says what it runs in `ro.product.cpu.abilist`), and a farm that lacks a binary is the
host's mistake, raised as `HostMisconfigured` so the run fails without blaming the phone.
The claim lists the registered builds; the chosen one is fetched by sha256 through the API
into this host's cache (no shared disk, no database). The capability probe runs `--help`
the first time any phone runs a build and tells the API the flags it declares; later runs
pass only those and record what was left out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from adbutils import AdbDevice

from contracts.binaries import BinaryInfo, choose_binary, missing_message, parse_help, split_abilist
from contracts.runs import Claim, FileRef
from device_agent.api_client import ApiError
from device_agent.phone.shell import quote_cmd, run
from worker.cache import CorruptDownload

log = logging.getLogger("phonefarm.worker")

Report = Callable[[str, str | None, list[str] | None], None]
"""(sha256, version, flags) → the API (WorkerApi.capabilities)."""


class HostMisconfigured(Exception):
    """The farm, not the phone, lacks what the run needs (a binary for its ABI, a stored file)."""


@dataclass(frozen=True)
class Chosen:
    info: BinaryInfo
    local: Path


_ABILISTS: dict[tuple[str, str], list[str]] = {}
"""(serial, build fingerprint) → the phone's ABI list: read-only properties of a build, asked once."""


def phone_abilist(device: AdbDevice, fingerprint: str | None = None) -> list[str]:
    """The phone's ABIs; with the build's `fingerprint` (the run's snapshot read it) remembered,
    so a run costs no round trip for it, and another phone behind the same address is asked anew."""
    key = (str(device.serial), fingerprint or "")
    if fingerprint and key in _ABILISTS:
        return _ABILISTS[key]
    out = run(device, "getprop ro.product.cpu.abilist; getprop ro.product.cpu.abi").output.splitlines()
    lines = [ln.strip() for ln in out] + ["", ""]
    abilist = split_abilist(lines[0][:256], lines[1][:32] or None)
    if fingerprint and abilist:
        _ABILISTS[key] = abilist
    return abilist


def choose(
    device: AdbDevice, claim: Claim, fetch: Callable[[FileRef], Path], fingerprint: str | None = None
) -> Chosen:
    abilist = phone_abilist(device, fingerprint)
    refs = {b.sha256: b for b in claim.binaries}
    info = choose_binary([b.info() for b in claim.binaries], abilist, claim.needs_flex)
    if info is None:
        raise HostMisconfigured(missing_message(abilist, claim.needs_flex, device.serial))
    try:
        local = fetch(refs[info.sha256].file())
    except (ApiError, httpx.HTTPError, CorruptDownload, OSError) as exc:
        raise HostMisconfigured(f"benchmark binary {info.sha256[:12]} ({info.abi}): {exc}") from exc
    return Chosen(info, local)


def supported_flags(
    device: AdbDevice, info: BinaryInfo, remote: str, report: Report
) -> frozenset[str] | None:
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
    try:
        report(info.sha256, caps.version, list(caps.flags))
    except Exception as exc:  # the next run probes again: no harm
        log.warning("could not record the flags of %s: %s", info.sha256[:12], exc)
    log.info("binary %s probed: %d flags, version %s", info.sha256[:12], len(caps.flags), caps.version)
    return frozenset(caps.flags)


def note_version(info: BinaryInfo, version: str | None, report: Report) -> None:
    """The version line of a real run, when `--help` did not print one."""
    if version and info.tool_version is None:
        try:
            report(info.sha256, version, None)
        except Exception as exc:
            log.warning("could not record the version of %s: %s", info.sha256[:12], exc)
