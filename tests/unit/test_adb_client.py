"""The farm's adb client never starts an adb server of its own (adbutils would, on port 5037)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from tests.stack import free_port

ASK_A_STOPPED_SERVER = """
import sys
import adbutils
from device_agent.adb_client import FarmAdbClient
try:
    FarmAdbClient(port=int(sys.argv[1]), socket_timeout=3).list()
except adbutils.AdbError as exc:
    print(type(exc).__name__)
"""


def _carrying(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdecimal() and marker.encode() in (entry / "environ").read_bytes():
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return found


def test_asking_a_stopped_adb_server_is_an_error_and_starts_no_server_anywhere() -> None:
    marker = f"FARM_TEST_MARKER={uuid.uuid4().hex}"
    name, value = marker.split("=")
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, **{name: value}, PYTHONPATH=str(root))
    out = subprocess.run(
        [sys.executable, "-c", ASK_A_STOPPED_SERVER, str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.strip() == "AdbConnectionError", out.stderr
    assert _carrying(value) == []  # adbutils' own client would have left `adb fork-server server` on 5037
