"""`farm doctor`: is this host ready to benchmark? One line per check, a fix for each failure.

Why one command: a new farm fails in ways that look alike from the outside (jobs queued
forever, runs failing at once). Each check here names the component, what it saw, and the
command or action that fixes it; the exit code is 0 only when every check passes, so the
command also serves scripts and CI.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import typer
from rich.console import Console

from contracts.binaries import BinaryInfo, choose_binary, fix_command, split_abilist
from contracts.settings import Settings, get_settings

STAND_IN = "phonefarm:virtual-stand-in"  # server.binaries.service.STAND_IN, without importing the server

console = Console()


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: bool = False  # could not tell: shown, but does not fail the doctor


def check_adb(s: Settings) -> tuple[list[Check], list[Any]]:
    from device_agent.adb_client import FarmAdbClient

    client = FarmAdbClient(host=s.adb_host, port=s.adb_port, socket_timeout=3)
    try:
        version = client.server_version()
        devices = client.list()
    except Exception as exc:
        return [
            Check(
                "adb server",
                False,
                f"not reachable on {s.adb_host}:{s.adb_port} ({type(exc).__name__})",
                f"start it: 'adb -P {s.adb_port} start-server' (or 'farm up'), or set FARM_ADB_PORT",
            )
        ], []
    return [
        Check("adb server", True, f"reachable on {s.adb_host}:{s.adb_port} (protocol {version})")
    ], devices


PHONE_FIXES = {
    "unauthorized": "accept the RSA prompt on the phone ('Allow USB debugging?', tick 'Always allow')",
    "offline": "replug the USB cable or run 'adb reconnect'; reboot the phone if it stays offline",
    "no permissions": "add a udev rule for the phone's USB vendor id (see Android's 'Run apps on a device')",
    "authorizing": "wait a few seconds, then accept the RSA prompt on the phone",
}


def check_phones(devices: list[Any]) -> list[Check]:
    if not devices:
        return [
            Check(
                "phones",
                False,
                "adb sees no phone",
                "plug one in with USB debugging on (Settings > Developer options), or 'farm attach HOST:PORT'",
            )
        ]
    out = []
    for d in devices:
        state = d.state
        fix = PHONE_FIXES.get(state, "check the cable and 'adb devices -l'")
        out.append(Check(f"phone {d.serial}", state == "device", state, "" if state == "device" else fix))
    return out


def check_api(s: Settings) -> tuple[list[Check], Any]:
    from device_agent.api_client import FarmApi

    api = FarmApi(s, timeout=5.0)
    try:
        resp = api.http.get(s.api_url.rstrip("/") + "/healthz")
        resp.raise_for_status()
    except Exception as exc:
        return [
            Check(
                "API",
                False,
                f"{s.api_url} not reachable ({type(exc).__name__})",
                "start it ('farm api' or 'farm up') or set FARM_API_URL to where it runs",
            )
        ], None
    out = [Check("API", True, f"{s.api_url} answers")]
    try:
        ready = api.http.get(s.api_url.rstrip("/") + "/readyz")
        detail = "" if ready.status_code == 200 else str(ready.json().get("detail", ready.text))
    except Exception as exc:
        detail = f"readyz failed: {exc}"
    db_bad = "database" in detail or "readyz" in detail
    out.append(
        Check(
            "database",
            not db_bad,
            "reachable from the API" if not db_bad else detail,
            "" if not db_bad else "check FARM_DATABASE_URL and that Postgres runs ('farm migrate' once)",
        )
    )
    broker_bad = "broker" in detail or "readyz" in detail
    out.append(
        Check(
            "broker",
            not broker_bad,
            "reachable from the API" if not broker_bad else detail,
            ""
            if not broker_bad
            else "check the API's FARM_BROKER_URL and that its broker runs "
            "(Redis, or the embedded SQLite broker in the API's data dir when the URL is unset)",
        )
    )
    return out, api


def check_binaries(api: Any) -> list[Check]:
    try:
        devices = api.get("/devices")
        rows = api.get("/binaries")
    except Exception as exc:
        return [Check("binaries", False, f"cannot list them: {exc}", "check the API token (FARM_TOKEN)")]
    binaries = [BinaryInfo(sha256=b["sha256"], abi=b["abi"], flex=b["flex"], id=b["id"]) for b in rows]
    stand_ins = {b["sha256"] for b in rows if b["source_url"] == STAND_IN}
    missing: dict[str, list[str]] = {}
    for d in devices:
        abilist = split_abilist(d.get("abilist"), d.get("abi"))
        chosen = choose_binary(binaries, abilist, needs_flex=False) if abilist else None
        # a real phone cannot run the demo's stand-in: for it, that ABI has no binary
        if abilist and (chosen is None or (chosen.sha256 in stand_ins and not d["is_virtual"])):
            missing.setdefault(abilist[0], []).append(d["serial"])
    if not missing:
        abis = sorted({b.abi for b in binaries})
        return [Check("binaries", True, f"every phone's ABI has one ({', '.join(abis) or 'no phones yet'})")]
    return [
        Check(
            f"binary {abi}",
            False,
            f"none registered for {abi} (phones {', '.join(serials)})",
            f"'{fix_command(abi, False)}' or 'farm binary add PATH'",
        )
        for abi, serials in sorted(missing.items())
    ]


def check_disk(s: Settings, min_free_gb: float) -> Check:
    path = s.data_dir if s.data_dir.exists() else s.data_dir.parent
    try:
        free = shutil.disk_usage(path).free / 2**30
    except OSError as exc:
        return Check(
            "disk", False, f"{s.data_dir}: {exc}", "create FARM_DATA_DIR or point it somewhere writable"
        )
    ok = free >= min_free_gb
    return Check(
        "disk",
        ok,
        f"{free:.1f} GiB free in {s.data_dir} (need {min_free_gb:g})",
        "" if ok else "free space (old models/downloads) or point FARM_DATA_DIR at a larger disk",
    )


def check_worker(s: Settings) -> Check:
    """Ask the broker this host is configured with (contracts/broker.py) for a worker on its queue.

    Redis answers Celery's remote control, so the check names the workers that consume the
    queue. The embedded SQLite broker has no remote control: the check opens its file (never
    creating one) and counts the runs waiting, and says it cannot see the workers themselves.
    """
    from contracts import broker
    from contracts.vocabulary import host_queue

    queue = host_queue(s.host_name)
    where = broker.describe(s)
    fix = f"start one: 'farm worker' with FARM_HOST_NAME={s.host_name} (or 'farm up')"
    if broker.is_embedded(s) and not (s.data_dir / "broker.db").is_file():
        return Check(
            "worker",
            False,
            f"no broker file: nothing has used {where}",
            "run the doctor with the farm's own FARM_DATA_DIR (the one 'farm up' uses), "
            "or set FARM_BROKER_URL to the broker the API and workers use",
        )
    app = broker.make_celery(settings=s)
    try:
        waiting = broker.waiting(app, queue)
    except Exception as exc:
        unreachable = f"{where} is not reachable ({type(exc).__name__}: {exc})"
        if broker.is_embedded(s):
            return Check("worker", False, unreachable, f"check that {s.data_dir} is readable and writable")
        return Check(
            "worker",
            False,
            unreachable,
            "start it, or set FARM_BROKER_URL to the one the API uses (unset, the embedded SQLite broker is used)",
        )
    backlog = f"{waiting} run(s) waiting in {queue}"
    if broker.is_embedded(s):
        return Check(
            "worker",
            True,
            f"{where} is reachable, {backlog}; it cannot list its workers: make sure one consumes {queue}",
            warning=True,
        )
    try:
        replies = app.control.inspect(timeout=2.0).active_queues() or {}
    except Exception as exc:
        return Check(
            "worker", False, f"could not ask the workers on {where} ({type(exc).__name__}: {exc})", fix
        )
    names = sorted(w for w, queues in replies.items() if any(q.get("name") == queue for q in queues))
    if names:
        return Check("worker", True, f"{', '.join(names)} consume {queue} on {where}")
    return Check("worker", False, f"no worker consumes {queue} on {where} ({backlog})", fix)


def run_checks(min_free_gb: float = 1.0) -> list[Check]:
    s = get_settings()
    checks, devices = check_adb(s)
    if checks[0].ok:
        checks += check_phones(devices)
    api_checks, api = check_api(s)
    checks += api_checks
    if api is not None:
        checks += check_binaries(api)
    checks.append(check_disk(s, min_free_gb))
    checks.append(check_worker(s))
    return checks


def doctor(
    min_free_gb: float = typer.Option(1.0, help="Free space the data dir needs, in GiB"),
) -> None:
    """Check this farm host: adb, phones, binaries, API, database, broker, disk, worker."""
    checks = run_checks(min_free_gb)
    for c in checks:
        mark: Callable[[str], str] = (
            (lambda t: f"[yellow]{t}[/yellow]")
            if c.warning
            else (lambda t: f"[green]{t}[/green]")
            if c.ok
            else (lambda t: f"[red]{t}[/red]")
        )
        label = "warn" if c.warning else "ok" if c.ok else "FAIL"
        console.print(f"{mark(label):<6} {c.name}: {c.detail}", highlight=False, soft_wrap=True)
        if not c.ok and c.fix:
            console.print(f"       fix: {c.fix}", highlight=False, soft_wrap=True)
    failed = [c for c in checks if not c.ok]
    console.print(f"{len(checks) - len(failed)}/{len(checks)} checks passed", highlight=False)
    raise typer.Exit(1 if failed else 0)
