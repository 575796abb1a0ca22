"""`farm up`: the whole farm in one terminal, for a laptop or a single farm host.

Children (API, worker) are separate processes, as in production; the agent and any
virtual phones live in this process. Ctrl-C stops everything.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import adbutils
import httpx

from contracts.settings import get_settings

log = logging.getLogger("phonefarm.up")


def bootstrap_token() -> str:
    """The embedded farm's admin token: created at first start, printed once, kept 0600 on disk."""
    from contracts.vocabulary import Role
    from server.auth.service import create_token, has_tokens
    from server.db import session_scope

    settings = get_settings()
    saved = settings.data_dir / "admin.token"
    if settings.token:
        return settings.token
    with session_scope() as db:
        if has_tokens(db) and saved.exists():
            return saved.read_text().strip()
        token = create_token(db, "admin (farm up)", Role.admin)
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.touch(mode=0o600)
    saved.write_text(token + "\n")
    log.info("admin API token created and saved to %s", saved)  # the token itself stays out of logs
    return token


def real_phones(port: int) -> list[str]:
    client = adbutils.AdbClient(port=port)
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


def _stand_in_binaries(fleet: Any) -> None:
    """Virtual phones run registered binaries like real ones: give each ABI a stand-in if none."""
    from server.binaries.service import ensure_stand_ins
    from server.db import session_scope

    abis = [a for p in fleet.phones for a in p.device.props()["ro.product.cpu.abilist"].split(",") if a]
    with session_scope() as db:
        for b in ensure_stand_ins(db, abis):
            log.info("registered a virtual stand-in benchmark_model for %s (%s)", b.abi, b.sha256[:12])


def run_all(port: int, virtual: int | None, concurrency: int, timing: str = "host") -> None:
    from server.migrate import upgrade

    settings = get_settings()
    upgrade()
    token = bootstrap_token()
    from device_agent.agent import start_adb_server

    start_adb_server(settings.adb_port)

    fleet = None
    count = virtual if virtual is not None else (0 if real_phones(settings.adb_port) else -1)
    if count != 0:
        from device_agent.virtual.fleet import PhoneFleet, adb_connect, available_profiles

        profiles = available_profiles()
        wanted = profiles if count < 0 else [profiles[i % len(profiles)] for i in range(count)]
        fleet = PhoneFleet()
        for name in wanted:
            phone = fleet.add(name, timing_mode=timing)
            adb_connect(phone.address, settings.adb_port)
        log.info("started %d virtual phones: %s", len(wanted), ", ".join(wanted))
        _stand_in_binaries(fleet)

    env = dict(os.environ, FARM_TOKEN=token, FARM_API_URL=f"http://127.0.0.1:{port}")
    env["FARM_DATA_DIR"] = str(Path(settings.data_dir).resolve())
    py = sys.executable
    from server.serving import uvicorn_args

    children = [
        subprocess.Popen(
            [
                py,
                "-m",
                "uvicorn",
                "server.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--log-level",
                "warning",
                *uvicorn_args(),
            ],
            env=env,
        ),
        subprocess.Popen([py, "-m", "cli.main", "worker", "--concurrency", str(concurrency)], env=env),
    ]
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        os.environ.update(FARM_TOKEN=token, FARM_API_URL=f"http://127.0.0.1:{port}")
        get_settings.cache_clear()
        from device_agent.agent import Agent

        agent = Agent()
        threading.Thread(target=agent.run, daemon=True, name="agent").start()
        from cli.ready import online_phones, ready_block, record

        url = f"http://127.0.0.1:{port}"
        token_file = settings.data_dir / "admin.token"  # where bootstrap_token keeps it
        config = record(url, settings.data_dir, token_file)
        phones = online_phones(url, token, len(fleet.phones) if fleet is not None else 1)
        print(ready_block(url, token_file, phones, config), flush=True)
        while all(c.poll() is None for c in children):
            time.sleep(1)
        log.error("a farm process exited; stopping")
    except KeyboardInterrupt:
        pass
    finally:
        for c in children:
            c.terminate()
        for c in children:
            try:
                c.wait(10)
            except subprocess.TimeoutExpired:
                c.kill()
        if fleet is not None:
            fleet.close()
