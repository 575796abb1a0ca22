"""`farm up --port N` from a terminal, then the CLI from another directory with no settings.

The whole embedded farm as a user starts it (one subprocess under a pseudo-terminal, so logs
are the human kind), checked for: one ready block, the config file it records, the admin
token kept out of the output, and `farm devices` finding the farm by that file alone.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import adbutils
import pytest

from tests.stack import ROOT, free_port, python_m

pytestmark = pytest.mark.integration


def read_until(fd: int, needle: str, timeout: float) -> str:
    out = b""
    deadline = time.monotonic() + timeout
    while needle.encode() not in out and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    return out.decode(errors="replace")


def test_farm_up_records_where_it_is_and_the_cli_finds_it_from_anywhere(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "config.toml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARM_")}
    env.update(
        PYTHONPATH=str(ROOT),
        HOME=str(tmp_path / "home"),
        FARM_CONFIG=str(config),
        FARM_DATA_DIR=str(tmp_path / "data"),
        FARM_ADB_PORT=str(free_port()),
        FARM_HOST_NAME=f"up-{port}",
        COLUMNS="120",
    )
    (tmp_path / "home").mkdir()
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        # python_m: stopped below with SIGINT, as Ctrl-C does, which a backgrounded CI shell ignores
        python_m("cli.main", "up", "--port", str(port), "--virtual", "1", "--concurrency", "1"),
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    try:
        out = read_until(master, "stop        Ctrl-C", timeout=120)
        assert "PhoneFarm is up" in out, out
        assert f"http://127.0.0.1:{port}/docs" in out and "1 online" in out, out
        assert "Traceback" not in out and '{"ts"' not in out, out  # readable lines, not JSON
        token = (tmp_path / "data" / "admin.token").read_text().strip()
        assert token and token not in out
        assert f'api_url = "http://127.0.0.1:{port}"' in config.read_text()

        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        cli_env = {k: v for k, v in env.items() if k not in ("FARM_DATA_DIR", "FARM_ADB_PORT")}
        listed = subprocess.run(
            [sys.executable, "-m", "cli.main", "devices"],
            env=cli_env,
            cwd=elsewhere,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0 and "online" in listed.stdout, listed.stderr
        made = subprocess.run(
            [sys.executable, "-m", "cli.main", "token", "create", "--role", "viewer"],
            env=cli_env,
            cwd=elsewhere,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert made.returncode == 0 and made.stdout.startswith("pf_"), made.stderr
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:  # farm up's own cleanup is bounded (10 s grace for its processes), slower when loaded
            proc.wait(120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        os.close(master)
        # `farm up` stops its adb server; killed instead (a loaded machine), it cannot, and the
        # server (a daemon of its own) would outlive the test
        subprocess.run(
            [adbutils.adb_path(), "-P", env["FARM_ADB_PORT"], "kill-server"], capture_output=True, timeout=30
        )
