"""Hostile inputs against the farm (issue 13). Prints figures; asserts nothing.

1. Parse time of hostile phone lines, this parser against the one before the hardening
   (loaded from git at BEFORE; it is quadratic, so it gets smaller inputs, and the time
   the issue's sizes would take is extrapolated as size^2).
2. TFLite inspection of crafted models: the bounded reader against the one before.
3. A real API (uvicorn, Postgres, as deployed): /healthz latency while each crafted model
   is uploaded; API memory while a 400 MB chunked body is sent with and without a token.

Usage: python bench/hostile.py [--skip-api]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BEFORE = "b534352"  # the contracts/ layer commit, before the hardening


def _old(path: str, name: str) -> types.ModuleType:
    src = subprocess.run(
        ["git", "show", f"{BEFORE}:{path}"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    mod = importlib.util.module_from_spec(spec)
    mod.__file__ = str(ROOT / path)  # data files next to it are unchanged
    sys.modules[name] = mod
    exec(compile(src, path, "exec"), mod.__dict__)  # our own file at an older commit
    return mod


def _time(fn, *args) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def parsers() -> None:
    from device_agent import benchmark_output, identity

    old_bo = _old("device_agent/benchmark_output.py", "old_benchmark_output")
    old_id = _old("device_agent/identity.py", "old_identity")
    print("== hostile phone text: parse time ==")
    print(f"{'input':34s} {'size':>8s} {'now':>9s} {'before':>9s} {'before at size (x^2)':>22s}")
    cases = [
        (
            "benchmark line 'count=1 aaaa…'",
            lambda n: "count=1 " + "a" * n,
            benchmark_output.parse,
            old_bo.parse,
            60_000,
        ),
        (
            "cpuinfo 'Hardware: ' + spaces",
            lambda n: "Hardware: " + " " * n + "x",
            lambda t: identity.identify({}, t),
            lambda t: old_id.identify({}, t),
            100_000,
        ),
    ]
    for label, make, new, old, size in cases:
        now = _time(new, make(size))
        small = 4_000
        before = _time(old, make(small))
        print(
            f"{label:34s} {size:>8d} {now:>8.4f}s {before:>8.3f}s@{small // 1000}k {before * (size / small) ** 2:>20.1f}s"
        )
    big = ("count=1 " + "a" * 1000 + "\n") * 300_000
    print(
        f"{'300 MB-like output (300k lines)':34s} {len(big):>8d} {_time(benchmark_output.parse, big):>8.3f}s"
    )


def tflite() -> None:
    from contracts.tflite import TFLiteError, inspect_file, inspect_tflite
    from tests.hostile.crafted import crafted, huge_dims, many_inputs, shared_operator_inputs

    old = _old("contracts/tflite.py", "old_tflite")
    print("\n== crafted .tflite: inspection time ==")
    print(f"{'model':40s} {'bytes':>8s} {'now':>9s} {'child':>8s} {'before':>9s}")
    rows = [
        ("100k dims of 2^31-1", huge_dims(), crafted(dims=[2**31 - 1] * 20_000), "20k dims"),
        ("100k subgraph inputs", many_inputs(), crafted(sg_inputs=[0] * 100_000), ""),
        ("10k ops sharing a 10k input vector", shared_operator_inputs(), shared_operator_inputs(), ""),
    ]
    tmp = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    for label, data, old_data, note in rows:

        def run(fn, d):  # type: ignore[no-untyped-def]
            with contextlib.suppress(TFLiteError, old.TFLiteError):
                fn(d)

        now = _time(run, inspect_tflite, data)
        path = tmp / "m.tflite"
        path.write_bytes(data)
        child = _time(run, inspect_file, path)
        before = _time(run, old.inspect_tflite, old_data)
        print(f"{label:40s} {len(data):>8d} {now:>8.4f}s {child:>7.3f}s {before:>8.2f}s {note}")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def api() -> None:
    import httpx

    from tests.hostile.crafted import huge_dims, many_inputs, shared_operator_inputs
    from tests.stack import FarmStack

    tmp = Path(tempfile.mkdtemp(prefix="bench-hostile-api-"))
    stack = FarmStack(tmp, mode="production")
    try:
        stack.start_api()
        pid = stack.procs[0].pid
        print("\n== real API (uvicorn + Postgres): /healthz during crafted uploads ==")
        client = httpx.Client(base_url=f"http://127.0.0.1:{stack.api_port}", timeout=60)
        uploads = [
            ("100k dims of 2^31-1", huge_dims()),
            ("100k subgraph inputs", many_inputs()),
            ("10k ops sharing a 10k input vector", shared_operator_inputs()),
        ]
        for label, data in uploads:
            worst, stop = [0.0], threading.Event()

            def poll(worst: list[float] = worst, stop: threading.Event = stop) -> None:
                while not stop.is_set():
                    t0 = time.perf_counter()
                    client.get("/healthz")
                    worst[0] = max(worst[0], time.perf_counter() - t0)
                    time.sleep(0.02)

            th = threading.Thread(target=poll)
            th.start()
            t0 = time.perf_counter()
            resp = stack.http.post("/models", files={"file": ("m.tflite", data)})
            took = time.perf_counter() - t0
            time.sleep(0.1)
            stop.set()
            th.join()
            print(
                f"{label:40s} upload {resp.status_code} in {took:.2f}s; healthz worst {worst[0] * 1000:.0f} ms"
            )
        listing = stack.http.get("/models")
        print(f"GET /models after the uploads: {len(listing.content)} bytes")

        print("\n== real API: memory while a 400 MB chunked body is sent ==")
        for label, auth in (
            ("without a token", b""),
            ("with a token", b"Authorization: Bearer " + stack.token.encode() + b"\r\n"),
        ):
            base = _rss_mb(pid)
            peak = base
            sent = 0
            t0 = time.perf_counter()
            with socket.create_connection(("127.0.0.1", stack.api_port)) as sock:
                sock.sendall(
                    b"POST /api/v1/benchmarks HTTP/1.1\r\nHost: farm\r\nContent-Type: application/json\r\n"
                    + auth
                    + b"Transfer-Encoding: chunked\r\n\r\n"
                )
                chunk = b"%x\r\n%s\r\n" % (1 << 20, b" " * (1 << 20))
                try:
                    for _ in range(400):
                        sock.sendall(chunk)
                        sent += 1
                        peak = max(peak, _rss_mb(pid))
                except (BrokenPipeError, ConnectionResetError):
                    pass
                sock.settimeout(10)
                status = sock.recv(200).split(b"\r\n", 1)[0].decode()
            print(
                f"{label:16s}: {status!r} after {sent} MiB sent (of 400) in {time.perf_counter() - t0:.2f}s; "
                f"API RSS {base:.0f} MB before, {peak:.0f} MB peak"
            )
    finally:
        stack.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-api", action="store_true")
    args = ap.parse_args()
    parsers()
    tflite()
    if not args.skip_api:
        api()


if __name__ == "__main__":
    main()
