"""Run virtual phones from ordinary (synchronous) code: tests, the CLI, benchmarks.

Why: the transport is asyncio, but pytest fixtures, `farm phone` and scripts are plain
blocking code that also talks to a blocking adb client. PhoneFleet keeps every phone's
server on one event loop in a background thread and exposes start/stop (plug/unplug)
as blocking calls, so a test can unplug a phone between two adb commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import shutil
import signal
import tempfile
import threading
from collections.abc import Coroutine, Sequence
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from device_agent.virtual.transport import PhoneServer

if TYPE_CHECKING:
    from device_agent.virtual.device import Faults, VirtualDevice

log = logging.getLogger(__name__)

T = TypeVar("T")

PROFILES_DIR = Path(__file__).with_name("profiles")


class LoopThread:
    """An asyncio event loop running forever in a daemon thread."""

    def __init__(self, name: str = "virtual-phones") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        # Let cancelled tasks finish their cleanup before the loop goes away.
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30.0) -> T:
        fut: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)

    def close(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)


_shared_loop: LoopThread | None = None
_shared_lock = threading.Lock()


def shared_loop() -> LoopThread:
    global _shared_loop
    with _shared_lock:
        if _shared_loop is None:
            _shared_loop = LoopThread()
        return _shared_loop


class VirtualPhone:
    """One virtual phone on a TCP port. stop() unplugs it; start() plugs it back on the same port."""

    def __init__(
        self, device: VirtualDevice, port: int = 0, *, host: str = "127.0.0.1", loop: LoopThread | None = None
    ) -> None:
        self.device = device
        self._loop = loop or shared_loop()
        self.server = PhoneServer(device, port, host)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def address(self) -> str:
        """What `adb connect` takes and what adb then uses as the serial."""
        return f"{self.server.host}:{self.server.port}"

    @property
    def serial(self) -> str:
        return self.device.serial

    @property
    def faults(self) -> Faults:
        return self.device.faults

    @property
    def running(self) -> bool:
        return self.server.running

    def start(self) -> VirtualPhone:
        self._loop.run(self.server.start())
        return self

    def stop(self) -> None:
        self._loop.run(self.server.stop())

    def drop_connections(self) -> None:
        """Cut the current adb connections but keep listening (a cable glitch)."""
        self.server.request_disconnect()

    def describe(self, timeout: float = 5.0) -> str:
        """What the phone is doing now: the processes started through adb (shells, commands)
        and the open adb streams, read on the phone's loop. For a hung test's report; says so
        if the loop does not answer within `timeout` (then the phone itself is stuck)."""

        async def read() -> str:
            procs = [
                f"{p.pid}<{p.ppid} {' '.join(p.args)[:160]!r}" for p in self.device.procs.all() if p.task
            ]
            streams = [
                f"{s.local_id}/{s.remote_id} {s.service[:160]!r}{' closed' if s.closed else ''}"
                for conn in list(self.server.connections)
                for s in list(conn.streams.values())
            ]
            return f"processes [{', '.join(procs)}]; streams [{', '.join(streams)}]"

        try:
            return self._loop.run(read(), timeout)
        except TimeoutError:
            return f"its event loop did not answer within {timeout:.0f}s"

    def __repr__(self) -> str:
        state = "up" if self.running else "down"
        return f"<VirtualPhone {self.serial} {self.address} {state}>"


class PhoneFleet:
    """Many virtual phones on one background event loop.

    with PhoneFleet() as fleet:
        phone = fleet.add("sdm845")
        adb_connect(phone.address, adb_port)
    """

    def __init__(self, root: Path | None = None, *, host: str = "127.0.0.1", as_real: bool = False) -> None:
        self.as_real = as_real  # every phone added looks like a real one (no ro.phonefarm.*, no stub)
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="phonefarm-phones-")) if root is None else Path(root)
        self.host = host
        self.phones: list[VirtualPhone] = []
        self._loop: LoopThread | None = LoopThread("phone-fleet")

    @property
    def loop(self) -> LoopThread:
        if self._loop is None:
            raise RuntimeError("the fleet is closed")
        return self._loop

    def add(
        self,
        profile: str,
        port: int = 0,
        *,
        auth: bool = False,
        allowed_keys: Sequence[bytes | str] = (),
        faults: Faults | None = None,
        serial: str | None = None,
        start: bool = True,
        **opts: Any,
    ) -> VirtualPhone:
        """Create a phone from a profile (name or .toml path), listening on `port` (0 = any free port).

        auth=True makes it ask the host for an RSA signature; only `allowed_keys` (adbkey.pub text)
        are accepted, others leave it `unauthorized`.
        """
        from device_agent.virtual.benchmark.interpreter import prewarm
        from device_agent.virtual.device import VirtualDevice

        prewarm()  # the benchmark's interpreter processes fork from it: start it while phones come up
        index = len(self.phones)
        root = self.root / f"phone{index}-{Path(profile).stem}"
        root.mkdir(parents=True, exist_ok=True)
        opts.setdefault("as_real", self.as_real)
        device = VirtualDevice.from_profile(profile, serial=serial, root=root, **opts)
        if serial is None and any(ph.serial == device.serial for ph in self.phones):
            # Two phones of one profile: keep ro.serialno unique, as on a real bench.
            device = VirtualDevice.from_profile(
                profile, serial=f"{device.serial}{index:02d}", root=root, **opts
            )
        device.auth_required = auth
        device.allowed_keys = [k.encode() if isinstance(k, str) else k for k in allowed_keys]
        if faults is not None:
            device.faults = faults
        phone = VirtualPhone(device, port, host=self.host, loop=self.loop)
        self.phones.append(phone)
        if start:
            phone.start()
        return phone

    def start(self) -> None:
        for phone in self.phones:
            phone.start()

    def stop(self) -> None:
        for phone in self.phones:
            with contextlib.suppress(Exception):
                phone.stop()

    def close(self) -> None:
        """Unplug every phone and end them: their benchmark interpreter processes are killed now,
        not whenever the collector gets to the phone (each test's fleet left them idle until then)."""
        if self._loop is None:
            return
        self.stop()
        self._loop.close()
        self._loop = None
        for phone in self.phones:
            with contextlib.suppress(Exception):
                phone.device.close()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PhoneFleet:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


# -- adb server helpers ------------------------------------------------------------------------


def adb_connect(address: str, adb_port: int = 5037, timeout: float = 10.0) -> str:
    """`adb connect ADDRESS` through the adb server on adb_port; returns the server's message."""
    from device_agent.adb_client import FarmAdbClient

    return str(FarmAdbClient(host="127.0.0.1", port=adb_port).connect(address, timeout=timeout))


# -- `farm phone` -----------------------------------------------------------------------------


def available_profiles() -> list[str]:
    from device_agent.virtual.profile import list_profiles

    return list_profiles()


def _read_auth_keys(auth_key: Path) -> list[bytes]:
    """An adbkey.pub (adb's format, one key a line) or a PEM private key such as ~/.android/adbkey."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from device_agent.virtual import protocol

    data = auth_key.read_bytes()
    if b"PRIVATE KEY" in data:
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{auth_key} is not an RSA key")
        return [protocol.encode_adb_pubkey(key.public_key())]
    lines = [line for line in data.splitlines() if line.strip()]
    for line in lines:
        protocol.decode_adb_pubkey(line)  # fail early on a bad file
    return lines


def main_phone(
    profile: str | None,
    port: int,
    all_profiles: bool = False,
    auth_key: Path | None = None,
    *,
    host: str = "127.0.0.1",
    adb_port: int | None = None,
    root: Path | None = None,
    timing_mode: str = "host",
    faults: Faults | None = None,
    as_real: bool = False,
) -> None:
    """`farm phone --profile sdm845 --port 5555` / `farm phone --all`: serve until Ctrl-C.

    With --all, one phone per profile on consecutive ports from `port`. auth_key turns AUTH on
    and allows that key (adbkey.pub or the PEM adbkey). adb_port, if given, also runs
    `adb connect` for each phone against the adb server on that port.
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("device_agent.virtual").setLevel(logging.INFO)

    if all_profiles:
        names = available_profiles()
        if not names:
            raise SystemExit(f"no profiles in {PROFILES_DIR}")
    elif profile:
        names = [profile]
    else:
        raise SystemExit("give a profile (--profile NAME) or --all")
    keys = _read_auth_keys(auth_key) if auth_key is not None else []

    stop = threading.Event()
    previous = signal.getsignal(signal.SIGTERM)
    with contextlib.suppress(ValueError):  # not the main thread: Ctrl-C only
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with PhoneFleet(root, host=host, as_real=as_real) as fleet:
            for i, name in enumerate(names):
                phone = fleet.add(
                    name,
                    port + i if port else 0,
                    auth=auth_key is not None,
                    allowed_keys=keys,
                    timing_mode=timing_mode,
                    faults=copy.deepcopy(faults) if faults is not None else None,
                )
                log.info("phone %s (%s) on %s", phone.serial, name, phone.address)
                print(f"{phone.address}\t{phone.serial}\t{name}", flush=True)
                if adb_port is not None:
                    log.info("adb connect %s: %s", phone.address, adb_connect(phone.address, adb_port))
            try:
                while not stop.wait(0.5):
                    pass
            except KeyboardInterrupt:
                pass
            log.info("unplugging %d phone(s)", len(fleet.phones))
    finally:
        with contextlib.suppress(ValueError):
            signal.signal(signal.SIGTERM, previous)
