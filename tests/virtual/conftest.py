"""Fixtures for the virtual phone's transport tests: a private adb server and virtual phones.

The adb server is the real one from the adbutils wheel, on its own port and with its own
HOME (so it makes its own ~/.android/adbkey and never touches a developer's adb). Phones are
real transport servers; their *contents* come from device_agent.virtual.device when that
module exists, else from the small stand-in below (only what these tests need).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import os
import pathlib
import shlex
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import adbutils
import pytest

from device_agent.virtual.fleet import PhoneFleet, VirtualPhone
from tests.stack import free_port

REAL_DEVICE = all(
    importlib.util.find_spec(f"device_agent.virtual.{m}") is not None for m in ("device", "profile", "shell")
)
needs_real_device = pytest.mark.skipif(
    not REAL_DEVICE, reason="device_agent.virtual.device/shell not there yet"
)


class PrivateAdb:
    def __init__(self, home: Path) -> None:
        self.port = free_port()
        self.home = home
        env = {k: v for k, v in os.environ.items() if k not in ("ADB_VENDOR_KEYS", "ANDROID_SERIAL")}
        env.update(
            HOME=str(home), ANDROID_USER_HOME=str(home / ".android"), ANDROID_ADB_SERVER_PORT=str(self.port)
        )
        self.env = env
        self.adb = adbutils.adb_path()

    def cmd(self, *args: str, timeout: float = 30, check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.adb, "-P", str(self.port), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    @property
    def client(self) -> adbutils.AdbClient:
        return adbutils.AdbClient(host="127.0.0.1", port=self.port, socket_timeout=20)

    @property
    def pubkey(self) -> bytes:
        return (self.home / ".android" / "adbkey.pub").read_bytes()

    def state(self, address: str) -> str:
        for info in self.client.list():
            if info.serial == address:
                return str(info.state)
        return "absent"

    def wait_state(self, address: str, states: set[str], timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        while True:
            state = self.state(address)
            if state in states:
                return state
            if time.monotonic() > deadline:
                raise AssertionError(f"{address} stayed {state}, wanted {states}")
            time.sleep(0.05)

    def connect(self, address: str, states: set[str] | None = None) -> str:
        msg = self.client.connect(address, timeout=10)
        self.wait_state(address, states or {"device"})
        return str(msg)

    def device(self, address: str) -> adbutils.AdbDevice:
        return self.client.device(address)


@pytest.fixture(scope="session")
def adb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateAdb]:
    server = PrivateAdb(tmp_path_factory.mktemp("adbhome"))
    server.cmd("start-server", check=True)
    try:
        yield server
    finally:
        server.cmd("kill-server")


# -- stand-in for device_agent.virtual.device (used only until that module exists) ------------


@dataclass
class StubFaults:
    disconnect_after_bytes: int | None = None
    hang: bool = False
    bandwidth_bytes_per_s: int | None = None
    disconnect_during_benchmark: bool = False
    benchmark_crash_signal: int | None = None
    benchmark_hang: bool = False


class StubDevice:
    """Just enough of the VirtualDevice contract for transport tests."""

    def __init__(self, root: Path, serial: str) -> None:
        self.serial = serial
        self.root = root
        self.faults = StubFaults()
        self.auth_required = False
        self.allowed_keys: list[bytes] = []
        self.on_disconnect: Callable[[], None] | None = None
        (root / "data/local/tmp").mkdir(parents=True, exist_ok=True)

    def banner_props(self) -> dict[str, str]:
        return {"ro.product.name": "stub", "ro.product.model": "Stub", "ro.product.device": "stub"}

    def props(self) -> dict[str, str]:
        return {"ro.board.platform": "stub", **self.banner_props()}

    def resolve(self, path: str, *, write: bool = False) -> pathlib.Path:
        local = (self.root / path.lstrip("/")).resolve()
        if not local.is_relative_to(self.root.resolve()):
            raise PermissionError(13, "outside the sandbox", path)
        return local

    async def shell(
        self,
        command: str,
        stdout: Callable[[bytes], Awaitable[None]],
        stderr: Callable[[bytes], Awaitable[None]],
        *,
        pty: bool = False,
    ) -> int:
        code = 0
        for part in command.split(";"):
            words = shlex.split(part)
            if not words:
                continue
            name, args = words[0], words[1:]
            if name == "exit":
                return int(args[0]) if args else code
            if name == "echo":
                await stdout((" ".join(args) + "\n").encode())
                code = 0
            elif name == "sleep":
                await asyncio.sleep(float(args[0]))
                code = 0
            elif name == "sha256sum":
                digest = hashlib.sha256(self.resolve(args[0]).read_bytes()).hexdigest()
                await stdout(f"{digest}  {args[0]}\n".encode())
                code = 0
            elif name == "getprop":
                await stdout((self.props().get(args[0], "") + "\n").encode())
                code = 0
            else:
                await stderr(f"/system/bin/sh: {name}: inaccessible or not found\n".encode())
                code = 127
        return code


# -- phones -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fleet() -> Iterator[PhoneFleet]:
    f = PhoneFleet()
    yield f
    f.close()


PhoneFactory = Callable[..., VirtualPhone]


@pytest.fixture
def make_phone(fleet: PhoneFleet, adb: PrivateAdb) -> Iterator[PhoneFactory]:
    """make_phone(profile="sdm845", connect=True, auth=False, allowed_keys=()) -> VirtualPhone"""
    made: list[VirtualPhone] = []

    def make(
        profile: str = "sdm845",
        *,
        connect: bool = True,
        auth: bool = False,
        allowed_keys: tuple[bytes, ...] = (),
        **opts: Any,
    ) -> VirtualPhone:
        if REAL_DEVICE:
            phone = fleet.add(profile, auth=auth, allowed_keys=allowed_keys, **opts)
        else:
            root = fleet.root / f"stub{len(fleet.phones)}"
            root.mkdir(parents=True)
            device: Any = StubDevice(root, f"stub{len(fleet.phones)}")
            device.auth_required = auth
            device.allowed_keys = list(allowed_keys)
            phone = VirtualPhone(device, 0, loop=fleet.loop)
            fleet.phones.append(phone)
            phone.start()
        made.append(phone)
        if connect:
            adb.connect(phone.address)
        return phone

    yield make
    for phone in made:
        adb.cmd("disconnect", phone.address)
        phone.stop()


@pytest.fixture
def phone(make_phone: PhoneFactory) -> VirtualPhone:
    return make_phone()
