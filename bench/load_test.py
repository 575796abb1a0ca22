"""Load test against the production stack (issue 8). Prints figures; asserts nothing.

Postgres, Redis, one API, several workers (two farm hosts), 16 virtual phones. For
`--seconds` (60), `--clients` threads submit small jobs and read results and job
states; then it waits for every job to finish and counts lost runs (never finished)
and duplicated ones (more than one result). Prints requests/s, p50/p99 latency, errors.

Usage: python bench/load_test.py [--seconds 60] [--clients 16]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from device_agent.virtual.fleet import PhoneFleet, available_profiles
from tests.stack import QUICK, AdbServer, FarmStack

MODEL = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tiny_segmenter.tflite"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--phones", type=int, default=16)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    stack = FarmStack(tmp, mode="production")
    adbs = [AdbServer(tmp / "adb-a"), AdbServer(tmp / "adb-b")]
    fleet = PhoneFleet()
    profiles = available_profiles()
    try:
        for a in adbs:
            a.start()
        for i in range(args.phones):
            phone = fleet.add(profiles[i % len(profiles)])
            adbs[i % 2].connect(phone.address)
        stack.start_api()
        for name, a in zip(("hostA", "hostB"), adbs, strict=True):
            stack.start_agent(a, name)
            stack.start_worker(a, name, concurrency=8)
        devices = stack.wait_online(args.phones, 120)
        model = stack.upload(MODEL)
        ids = [d["id"] for d in devices]
        latencies: list[float] = []
        errors: list[str] = []
        jobs: list[int] = []
        lock = threading.Lock()
        stop = time.monotonic() + args.seconds

        def client(seed: int) -> None:
            rng = random.Random(seed)
            http = httpx.Client(
                base_url=str(stack.http.base_url), headers=dict(stack.http.headers), timeout=30
            )
            while time.monotonic() < stop:
                kind = rng.random()
                t0 = time.monotonic()
                try:
                    if kind < 0.2:
                        body = {
                            "model": str(model["id"]),
                            "devices": {"ids": rng.sample(ids, 2)},
                            "delegates": ["cpu"],
                            **QUICK,
                        }
                        resp = http.post("/benchmarks", json=body)
                        if resp.status_code == 202:
                            with lock:
                                jobs.append(resp.json()["id"])
                    elif kind < 0.6:
                        resp = http.get("/results", params={"limit": 50})
                    elif kind < 0.8 and jobs:
                        resp = http.get(f"/benchmarks/{rng.choice(jobs)}")
                    else:
                        resp = http.get("/devices")
                    ok = resp.status_code < 400
                except httpx.HTTPError as exc:
                    ok, resp = False, None
                    errors.append(repr(exc))
                dt = time.monotonic() - t0
                with lock:
                    latencies.append(dt)
                    if not ok and resp is not None:
                        errors.append(f"{resp.status_code} {resp.text[:100]}")

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        latencies.sort()
        print(
            f"{len(latencies)} requests in {args.seconds:.0f} s: {len(latencies) / args.seconds:.1f} req/s, "
            f"p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {latencies[int(0.99 * (len(latencies) - 1))] * 1000:.1f} ms, "
            f"errors {len(errors)}"
        )
        for e in errors[:5]:
            print("  error:", e)
        deadline = time.monotonic() + 600
        for job_id in jobs:
            stack.wait_job(job_id, max(1.0, deadline - time.monotonic()))
        from sqlalchemy import func, select

        from contracts.vocabulary import TERMINAL_RUN_STATES, RunState
        from server.db import session_scope
        from server.jobs.models import Run
        from server.results.models import Result

        with session_scope() as db:
            results = dict(db.execute(select(Result.run_id, func.count()).group_by(Result.run_id)).all())
            runs = list(db.scalars(select(Run)))
        lost = sum(
            1
            for r in runs
            if r.state not in TERMINAL_RUN_STATES or (r.state == RunState.succeeded and r.id not in results)
        )
        dup = sum(1 for n in results.values() if n > 1)
        failed = sum(1 for r in runs if r.state == RunState.failed)
        print(f"{len(jobs)} jobs, {len(runs)} runs: lost {lost}, duplicated {dup}, failed {failed}")
    finally:
        fleet.close()
        for a in adbs:
            a.stop()
        stack.close()


if __name__ == "__main__":
    main()
