"""`farm up`: the whole farm in one terminal, for a laptop or a single farm host.

Children (API, worker) are separate processes, as in production; the worker goes through
the API with a host-bound agent token, exactly as on a second host (one path). The agent
and any virtual phones live in this process. The virtual fleet is saved in the data dir
(profile, serial, port), so a restart brings back the same phones. SIGTERM or Ctrl-C stops
everything this command started, the adb server included, and leaves no orphan behind.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import adbutils
import httpx

from contracts.settings import get_settings
from device_agent.adb_client import FarmAdbClient

if TYPE_CHECKING:
    from device_agent.virtual.fleet import PhoneFleet

log = logging.getLogger("phonefarm.up")
FLEET_FILE = "virtual-phones.json"


def _saved_token(path: Path, make: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(make + "\n")
    return make


def bootstrap_token() -> str:
    """The embedded farm's admin token: created at first start, printed once, kept 0600 on disk."""
    from contracts.vocabulary import Role
    from server.auth.service import create_token, free_token_name, has_tokens
    from server.db import session_scope

    settings = get_settings()
    saved = settings.data_dir / "admin.token"
    if settings.token:
        return settings.token
    with session_scope() as db:
        if has_tokens(db) and saved.exists():
            return saved.read_text().strip()
        # the saved secret is gone (or this is the first start): the same user, a fresh token
        user = "admin (farm up)"
        token = create_token(db, free_token_name(db, user, user), Role.admin, user=user)
    _saved_token(saved, token)
    log.info("admin API token created and saved to %s", saved)  # the token itself stays out of logs
    return token


def bootstrap_agent_token(host: str) -> str:
    """This host's agent token (bound to it), for the agent and the worker; reused across restarts."""
    from contracts.vocabulary import Role
    from server.auth.service import authenticate, create_token, free_token_name
    from server.db import session_scope

    saved = get_settings().data_dir / f"agent-{host}.token"
    with session_scope() as db:
        if saved.exists() and (p := authenticate(db, saved.read_text().strip())) and p.host == host:
            return saved.read_text().strip()
        user = f"agent {host} (farm up)"
        token = create_token(db, free_token_name(db, user, user), Role.agent, host, user=user)
    return _saved_token(saved, token)


def real_phones(port: int) -> list[str]:
    client = FarmAdbClient(port=port)
    return [d.serial for d in client.list() if not d.serial.startswith("127.0.0.1:")]


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up within {timeout:.0f} s")


def adb_server_running(port: int) -> bool:
    try:
        FarmAdbClient(port=port).server_version()
    except (adbutils.AdbError, OSError):
        return False
    return True


def stop_adb_server(port: int) -> None:
    subprocess.run(
        [adbutils.adb_path(), "-P", str(port), "kill-server"], check=False, capture_output=True, timeout=30
    )


@dataclass
class SavedPhone:
    profile: str
    serial: str
    port: int


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the phone's own listener does
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def load_fleet(path: Path) -> list[SavedPhone]:
    try:
        return [SavedPhone(**p) for p in json.loads(path.read_text())]
    except (OSError, ValueError, TypeError):
        return []


def start_fleet(count: int, adb_port: int, timing: str = "host") -> PhoneFleet:
    """The same virtual phones as last time (serials and ports from the data dir), plus new ones
    up to `count` (< 0: one per profile). A saved port now taken by something else gets a new
    port; the phone keeps its serial, so the farm still knows it."""
    from device_agent.virtual.fleet import PhoneFleet, adb_connect, available_profiles

    settings = get_settings()
    path = settings.data_dir / FLEET_FILE
    saved = load_fleet(path)
    profiles = available_profiles()
    wanted = len(profiles) if count < 0 else count
    plan = saved[:wanted]
    for i in range(len(plan), wanted):
        profile = profiles[i % len(profiles)]
        plan.append(SavedPhone(profile, f"{profile.upper()}-{secrets.token_hex(3).upper()}", 0))
    fleet = PhoneFleet(settings.data_dir / "virtual-phones")
    for entry in plan:
        port = entry.port if entry.port and _port_free(entry.port) else 0
        phone = fleet.add(entry.profile, port, serial=entry.serial, timing_mode=timing)
        entry.port = phone.port
        adb_connect(phone.address, adb_port)
    path.write_text(json.dumps([asdict(p) for p in plan], indent=1))
    log.info("virtual phones: %s", ", ".join(f"{p.serial}@{p.port}" for p in plan))
    return fleet


def _stand_in_binaries(fleet: PhoneFleet) -> None:
    """Virtual phones run registered binaries like real ones: give each ABI a stand-in if none."""
    from server.binaries.service import ensure_stand_ins
    from server.db import session_scope

    abis = [a for p in fleet.phones for a in p.device.props()["ro.product.cpu.abilist"].split(",") if a]
    with session_scope() as db:
        for b in ensure_stand_ins(db, abis):
            log.info("registered a virtual stand-in benchmark_model for %s (%s)", b.abi, b.sha256[:12])


class Stop(Exception):
    """SIGTERM: stop like Ctrl-C."""


def _on_term(_sig: int, _frame: FrameType | None) -> None:
    raise Stop


def _stop_children(children: list[subprocess.Popen[bytes]], grace: float = 10.0) -> None:
    """Each child leads its own process group: signal the group, so its own children stop too."""
    for child in children:
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(max(0.1, deadline - time.monotonic()))
        # the leader has exited or overstayed: whatever is left in its group would be an orphan
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait(5)


def run_all(port: int, virtual: int | None, concurrency: int, timing: str = "host") -> None:
    from device_agent.agent import start_adb_server
    from server.migrate import upgrade

    settings = get_settings()
    upgrade()
    token = bootstrap_token()
    agent_token = bootstrap_agent_token(settings.host_name)
    own_adb = not adb_server_running(settings.adb_port)
    start_adb_server(settings.adb_port)

    previous = signal.signal(signal.SIGTERM, _on_term)
    fleet: PhoneFleet | None = None
    children: list[subprocess.Popen[bytes]] = []
    agent = None
    try:
        count = virtual if virtual is not None else (0 if real_phones(settings.adb_port) else -1)
        if count != 0:
            fleet = start_fleet(count, settings.adb_port, timing)
            _stand_in_binaries(fleet)
        api_url = f"http://127.0.0.1:{port}"
        env = dict(os.environ, FARM_TOKEN=token, FARM_API_URL=api_url)
        env["FARM_DATA_DIR"] = str(Path(settings.data_dir).resolve())
        # the worker gets what a second host gets: the API's URL, the broker's and a host token
        worker_env = {k: v for k, v in env.items() if k != "FARM_DATABASE_URL"} | {"FARM_TOKEN": agent_token}
        worker_env["FARM_BROKER_URL"] = settings.celery_broker_url
        py = sys.executable
        from server.serving import uvicorn_args

        uvicorn = [py, "-m", "uvicorn", "server.main:app", "--host", "127.0.0.1", "--port", str(port)]
        uvicorn += ["--no-access-log", "--log-level", "warning", *uvicorn_args()]
        children.append(subprocess.Popen(uvicorn, env=env, start_new_session=True))
        worker_cmd = [py, "-m", "cli.main", "worker", "--concurrency", str(concurrency)]
        children.append(subprocess.Popen(worker_cmd, env=worker_env, start_new_session=True))
        wait_http(f"{api_url}/healthz")
        os.environ.update(FARM_TOKEN=agent_token, FARM_API_URL=api_url)
        get_settings.cache_clear()
        from device_agent.agent import Agent

        agent = Agent()
        threading.Thread(target=agent.run, daemon=True, name="agent").start()
        from cli.ready import online_phones, ready_block, record

        token_file = settings.data_dir / "admin.token"  # where bootstrap_token keeps it
        config = record(api_url, settings.data_dir, token_file)
        phones = online_phones(api_url, token, len(fleet.phones) if fleet is not None else 1)
        print(ready_block(api_url, token_file, phones, config), flush=True)
        while all(c.poll() is None for c in children):
            time.sleep(1)
        log.error("a farm process exited; stopping")
    except (KeyboardInterrupt, Stop):
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the cleanup short
        if agent is not None:
            agent.stopping.set()
        _stop_children(children)
        if fleet is not None:
            fleet.close()
        if own_adb:
            stop_adb_server(settings.adb_port)
        signal.signal(signal.SIGTERM, previous)
        print("PhoneFarm stopped.", flush=True)
