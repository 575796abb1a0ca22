"""Where a run's service overhead goes, phase by phase (issue "second host"). Prints; asserts nothing.

The API, agent, adb server and virtual phones run as in bench/e2e_overhead.py, but the worker's
code runs in this process (`runner.execute(run_id)` straight after the job is created, no broker),
with a stopwatch around each step it takes: the HTTP calls (their time includes the API's
handler and transaction), the phone round trips and the local work between them.

Usage: python bench/overhead_profile.py [--runs 30]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from device_agent.virtual.fleet import PhoneFleet
from tests.stack import QUICK, AdbServer, FarmStack

MODEL = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tiny_segmenter.tflite"
# the tests' quick spec, with enough iterations that the benchmark itself is measurable
FAST = {**QUICK, "num_runs": 20, "warmup_runs": 1, "threads": [2]}
SPENT: dict[str, list[float]] = defaultdict(list)
_CURRENT: dict[str, float] = defaultdict(float)


def _timed(owner: Any, name: str, label: str | None = None) -> None:
    original = getattr(owner, name)
    key = label or name

    @functools.wraps(original)
    def wrapper(*args: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(*args, **kw)
        finally:
            _CURRENT[key] += time.perf_counter() - t0

    setattr(owner, name, wrapper)


def _shell_label(owner: Any, name: str) -> None:
    """Each shell round trip, labelled by its first word (the benchmark itself apart)."""
    original = getattr(owner, name)

    def wrapper(device: Any, command: str, *a: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(device, command, *a, **kw)
        finally:
            word = command.split()[0].strip("'").rsplit("/", 1)[-1]
            word = "benchmark_model" if word.startswith("benchmark_model") else word
            _CURRENT[f"  adb shell: {word}"] += time.perf_counter() - t0
            _CURRENT["  adb shell round trips (count)"] += 1

    setattr(owner, name, wrapper)


STATEMENTS = [0]
SQL_LOG: list[str] = []


def count_statements() -> None:
    """Count the API's SQL statements (the API runs in this process with --in-process-api)."""
    from sqlalchemy import event

    from server.db import get_engine

    @event.listens_for(get_engine(), "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        STATEMENTS[0] += 1
        SQL_LOG.append(" ".join(statement.split())[:160])


def _counted(owner: Any, name: str, label: str) -> None:
    original = getattr(owner, name)

    def wrapper(*args: Any, **kw: Any) -> Any:
        before = STATEMENTS[0]
        SQL_LOG.append(f"--- {label}")
        try:
            return original(*args, **kw)
        finally:
            _CURRENT[f"  SQL statements in {label} (count)"] += STATEMENTS[0] - before

    setattr(owner, name, wrapper)


def start_api_here(stack: FarmStack) -> None:
    """uvicorn in a thread of this process, so the engine's statements can be counted."""
    import threading

    import uvicorn

    from server.main import app
    from tests.stack import wait_for

    server = uvicorn.Server(uvicorn.Config(app, port=stack.api_port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    wait_for(lambda: stack.http.get("/healthz").status_code == 200, 30, 0.2, "API")


def instrument() -> None:
    from device_agent.phone import install, shell, snapshot
    from worker import api_client, benchmark_binary, runner

    for name in ("claim", "claim_next", "complete", "beat", "capabilities"):
        _timed(api_client.WorkerApi, name, f"api.{name}")
    _timed(snapshot, "take", "phone: snapshot.take")
    _timed(runner, "_model", "cache: model")
    _timed(benchmark_binary, "choose", "phone+cache: choose binary (abilist)")
    _timed(install, "ensure", "phone: install.ensure (sha256sum)")
    _timed(benchmark_binary, "supported_flags", "binary flags")
    _timed(runner, "maybe_profile", "op profile (off)")
    _timed(runner, "maybe_numerics", "numerics (off)")
    _timed(runner.benchmark_output, "parse", "parse output")
    _timed(runner, "summarize", "stats")
    _timed(runner, "_device", "adb device handle")
    for mod in (shell,):
        _shell_label(mod, "_shell_v2")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--show-sql", action="store_true", help="print the last run's statements")
    ap.add_argument(
        "--in-process-api", action="store_true", help="serve the API from this process and count its SQL"
    )
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-prof-"))
    stack = FarmStack(tmp)
    adb = AdbServer(tmp / "adbhome")
    adb.start()
    fleet = PhoneFleet()
    try:
        phone = fleet.add("sdm845")
        adb.connect(phone.address)
        if args.in_process_api:
            start_api_here(stack)
        else:
            stack.start_api()
        stack.start_agent(adb)
        device = stack.wait_online(1)[0]
        model = stack.upload(MODEL)
        import os

        for key, value in stack.host_env(adb).items():
            if key.startswith("FARM_"):
                os.environ[key] = value
        from server.db import reset_caches

        reset_caches()  # settings are cached: read the host's
        instrument()
        if args.in_process_api:
            from worker import api_client

            count_statements()
            for name in ("claim", "claim_next", "complete"):
                _counted(api_client.WorkerApi, name, f"api.{name}")
        from worker import runner

        def one() -> tuple[float, float]:
            resp = stack.http.post(
                "/benchmarks",
                json={
                    "model": str(model["id"]),
                    **FAST,
                    "devices": {"ids": [device["id"]]},
                    "delegates": ["cpu"],
                },
            )
            resp.raise_for_status()
            run_id = resp.json()["runs"][0]["id"]
            _CURRENT.clear()
            SQL_LOG.clear()
            t0 = time.perf_counter()
            runner.execute(run_id)
            return time.perf_counter() - t0, _CURRENT["  adb shell: benchmark_model"]

        one()  # caches model and binary, probes the binary
        totals = []
        for _ in range(args.runs):
            total, bench = one()
            totals.append(total - bench)
            for k, v in _CURRENT.items():
                SPENT[k].append(v)
            SPENT["(worker total minus benchmark)"].append(total - bench)
        if args.show_sql:
            print("\n".join(SQL_LOG))
        print(f"worker-side overhead per run, median over {args.runs} runs (ms):")
        for k, xs in sorted(SPENT.items(), key=lambda kv: -statistics.median(kv[1])):
            unit = "" if "(count)" in k else " ms"
            scale = 1 if "(count)" in k else 1000
            print(f"  {k:45s} {statistics.median(xs) * scale:8.1f}{unit}")
    finally:
        fleet.close()
        adb.stop()
        stack.close()


if __name__ == "__main__":
    main()
