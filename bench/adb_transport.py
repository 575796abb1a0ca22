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
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from device_agent.adb_client import FarmAdbClient  # noqa: E402
from device_agent.virtual.fleet import PhoneFleet, VirtualPhone  # noqa: E402
from tests.stack import AdbServer  # noqa: E402


def push_mb_s(adb: AdbServer, address: str, src: Path, size: int) -> float:
    t0 = time.perf_counter()
    res = adb.cmd("-s", address, "push", str(src), "/data/local/tmp/bench.bin", timeout=300)
    elapsed = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"push failed: {res.stderr}")
    return size / elapsed / 1e6


def shell_latencies(adb: AdbServer, address: str, n: int, farm_client: bool = False) -> list[float]:
    """adbutils' own client, or the farm's (NODELAY sockets, no 10 ms sleep on close)."""
    client = FarmAdbClient(port=adb.port) if farm_client else adb.client
    dev = client.device(address)
    dev.shell2("echo warm", v2=True)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        dev.shell2("echo x", v2=True)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def raw_latencies(adb: AdbServer, address: str, n: int) -> list[float]:
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


def run(phones: list[VirtualPhone], adb: AdbServer, src: Path, size: int, shells: int) -> None:
    n = len(phones)
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        t0 = time.perf_counter()
        per_phone = list(pool.map(lambda p: push_mb_s(adb, p.address, src, size), phones))
        wall = time.perf_counter() - t0
        lat = [x for xs in pool.map(lambda p: shell_latencies(adb, p.address, shells), phones) for x in xs]
        farm = [
            x for xs in pool.map(lambda p: shell_latencies(adb, p.address, shells, True), phones) for x in xs
        ]
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
        f"  shell `echo x` round trip, farm client (FarmAdbClient): median {statistics.median(farm):6.2f} ms, "
        f"p99 {pct(farm, 0.99):6.2f} ms ({len(farm)} calls)"
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
    adb = AdbServer(work / "home")
    size = args.mb * 1024 * 1024
    src = work / "payload.bin"
    src.write_bytes(os.urandom(size))
    adb.start()
    try:
        with PhoneFleet(work / "phones") as fleet:
            phones = [fleet.add(args.profile) for _ in range(8)]
            for phone in phones:
                adb.connect(phone.address)
            print(f"adb {adb.cmd('version').stdout.splitlines()[0]}; python {sys.version.split()[0]}")
            run(phones[:1], adb, src, size, args.shells)
            run(phones, adb, src, size, args.shells)
    finally:
        adb.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
