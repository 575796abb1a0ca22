"""Throughput and latency of the virtual phone's ADB transport through the real adb server.

Why: every farm test and demo moves models and results through this path, so its cost
should be known (and regressions visible). Prints push throughput (MB/s, `adb push`) and
shell round-trip latency (median / p99 ms, adbutils shell v2 `echo`) for 1 phone and for
8 phones at once. Plain script, no asserts:

    python bench/adb_transport.py [--mb 64] [--shells 200]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import adbutils

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from device_agent.virtual.fleet import PhoneFleet, VirtualPhone  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Adb:
    def __init__(self, home: Path) -> None:
        self.port = free_port()
        self.env = dict(os.environ, HOME=str(home), ANDROID_USER_HOME=str(home / ".android"))
        self.env.pop("ADB_VENDOR_KEYS", None)
        self.bin = adbutils.adb_path()
        self.client = adbutils.AdbClient(host="127.0.0.1", port=self.port, socket_timeout=60)

    def cmd(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.bin, "-P", str(self.port), *args], env=self.env, capture_output=True, text=True, timeout=300
        )

    def connect(self, address: str) -> None:
        self.client.connect(address, timeout=10)
        deadline = time.monotonic() + 10
        while not any(d.serial == address and d.state == "device" for d in self.client.list()):
            if time.monotonic() > deadline:
                raise SystemExit(f"{address} never came up as `device`")
            time.sleep(0.05)


def make_phone(fleet: PhoneFleet, profile: str) -> VirtualPhone:
    if all(importlib.util.find_spec(f"device_agent.virtual.{m}") for m in ("device", "shell")):
        return fleet.add(profile)
    # Fall back on the tests' stand-in for the phone's contents.
    from tests.virtual.conftest import StubDevice

    root = fleet.root / f"stub{len(fleet.phones)}"
    root.mkdir(parents=True)
    device: Any = StubDevice(root, f"stub{len(fleet.phones)}")
    phone = VirtualPhone(device, 0, loop=fleet.loop).start()
    fleet.phones.append(phone)
    return phone


def push_mb_s(adb: Adb, address: str, src: Path, size: int) -> float:
    t0 = time.perf_counter()
    res = adb.cmd("-s", address, "push", str(src), "/data/local/tmp/bench.bin")
    elapsed = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"push failed: {res.stderr}")
    return size / elapsed / 1e6


def shell_latencies(adb: Adb, address: str, n: int) -> list[float]:
    dev = adb.client.device(address)
    dev.shell2("echo warm", v2=True)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        dev.shell2("echo x", v2=True)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def raw_latencies(adb: Adb, address: str, n: int) -> list[float]:
    """The same `echo x` over adb's smart-socket protocol directly (no adbutils overhead):
    host:transport:SERIAL, shell,v2:echo x, read until the shell protocol's exit packet."""

    def request(s: socket.socket, text: str) -> None:
        data = text.encode()
        s.sendall(b"%04x" % len(data) + data)
        if s.recv(4) != b"OKAY":
            raise SystemExit(f"adb server refused {text!r}")

    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        with socket.create_connection(("127.0.0.1", adb.port)) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            request(s, f"host:transport:{address}")
            request(s, "shell,v2:echo x")
            buf = b""
            while b"\x03\x01\x00\x00\x00" not in buf:
                chunk = s.recv(4096)
                if not chunk:
                    raise SystemExit("stream closed before the exit packet")
                buf += chunk
        out.append((time.perf_counter() - t0) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(phones: list[VirtualPhone], adb: Adb, src: Path, size: int, shells: int) -> None:
    n = len(phones)
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        t0 = time.perf_counter()
        per_phone = list(pool.map(lambda p: push_mb_s(adb, p.address, src, size), phones))
        wall = time.perf_counter() - t0
        lat = [x for xs in pool.map(lambda p: shell_latencies(adb, p.address, shells), phones) for x in xs]
        raw = [x for xs in pool.map(lambda p: raw_latencies(adb, p.address, shells), phones) for x in xs]
    print(f"{n} phone(s):")
    print(
        f"  adb push {size / 1e6:.0f} MB each: aggregate {n * size / wall / 1e6:7.1f} MB/s, "
        f"per phone {statistics.median(per_phone):7.1f} MB/s (median)"
    )
    print(
        f"  shell `echo x` round trip, adbutils shell2(v2=True): median {statistics.median(lat):6.2f} ms, "
        f"p99 {pct(lat, 0.99):6.2f} ms ({len(lat)} calls)"
    )
    print(
        f"  shell `echo x` round trip, raw adb-server socket:    median {statistics.median(raw):6.2f} ms, "
        f"p99 {pct(raw, 0.99):6.2f} ms ({len(raw)} calls)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=64, help="size of the pushed file per phone")
    ap.add_argument("--shells", type=int, default=200, help="shell calls per phone")
    ap.add_argument("--profile", default="sdm845")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="adb-bench-"))
    adb = Adb(work / "home")
    (work / "home").mkdir()
    size = args.mb * 1024 * 1024
    src = work / "payload.bin"
    src.write_bytes(os.urandom(size))
    adb.cmd("start-server")
    try:
        with PhoneFleet(work / "phones") as fleet:
            phones = [make_phone(fleet, args.profile) for _ in range(8)]
            for phone in phones:
                adb.connect(phone.address)
            print(f"adb {adb.cmd('version').stdout.splitlines()[0]}; python {sys.version.split()[0]}")
            run(phones[:1], adb, src, size, args.shells)
            run(phones, adb, src, size, args.shells)
    finally:
        adb.cmd("kill-server")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
