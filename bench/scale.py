"""The farm at scale, by simulation: H host processes × N sim phones, R short runs, U users.

Why sim phones: a sim phone's timing does not depend on host load, so many of them fit on
one machine and what is measured is the farm (dispatch, claims, leases, results), not the
host's CPU. Each farm host is its own set of processes, as on a real bench: a process
serving N virtual phones, its own adb server, a device agent and a worker (concurrency =
min(N, --worker-threads)); all hosts share one Postgres, one Redis and one API.

Prints: dispatch throughput (runs started per second while the queue was saturated),
phone utilisation (share of phone-seconds spent inside benchmark_model over the busy
window; 100 % is the physical limit), per-run overhead (run start→finish minus the
benchmark's own wall time), API read latency p50/p99 sampled during the run, and lost /
duplicated runs (must be 0: every run ends in exactly one final state, every succeeded
run has exactly one result). Asserts nothing.

The issue's full size is --hosts 5 --phones 100 --runs 10000 --users 20. On a shared
2-core box that is too heavy (each worker thread runs real adb traffic); the default is a
reduced run, and the figures say which size they come from.

Usage: python bench/scale.py [--hosts 2] [--phones 10] [--runs 400] [--users 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "fixtures" / "tiny_segmenter.tflite"
PROFILES = ["sdm845", "msm8953", "exynos7420", "gs201", "sm8550", "mt6893", "s5e9925", "msm8937"]
SPEC = {
    "delegates": ["cpu"],
    "threads": [4],
    "trials": 1,
    "num_runs": 5,
    "min_secs": 0,
    "warmup_runs": 1,
    "warmup_min_secs": 0,
    "cooldown_s": 0,
    "thermal_limit_c": None,
    "screen_off": False,
    "battery_floor": 0,
}


def serve_phones(n: int, adb_port: int, host: int) -> None:
    """Child process: N sim phones, each `adb connect`ed to this host's adb server."""
    from device_agent.virtual.fleet import PhoneFleet, adb_connect

    with PhoneFleet() as fleet:
        for i in range(n):
            phone = fleet.add(PROFILES[i % len(PROFILES)], timing_mode="sim", serial=f"h{host}p{i:03d}")
            adb_connect(phone.address, adb_port)
        print("ready", flush=True)
        sys.stdin.read()  # until the parent closes our stdin


def _cpu_s(pid: int) -> float:
    """utime + stime of a process, in seconds (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pids_matching(*needles: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdecimal():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if all(n in cmd for n in needles):
                pids.append(int(entry.name))
    return pids


def cpu_by_kind(kinds: dict[str, list[int]]) -> dict[str, float]:
    return {kind: sum(_cpu_s(p) for p in pids) for kind, pids in kinds.items()}


def _wait_all_final(deadline: float) -> None:
    """Until no run is queued or running, asking the database once a second (polling each job's
    full view through the API, as a user would, cost the API more than the runs did)."""
    from sqlalchemy import func, select

    from contracts.vocabulary import TERMINAL_RUN_STATES
    from server.db import session_scope
    from server.jobs.models import Run

    while time.monotonic() < deadline:
        with session_scope() as db:
            left = db.scalar(
                select(func.count()).select_from(Run).where(Run.state.not_in(TERMINAL_RUN_STATES))
            )
        if not left:
            return
        time.sleep(1.0)
    print(f"gave up waiting: {left} runs not final", flush=True)


def percentile(xs: list[float], q: float) -> float:
    from contracts.stats import percentile as pct

    return pct(xs, q)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=2)
    ap.add_argument("--phones", type=int, default=10, help="per host")
    ap.add_argument("--runs", type=int, default=400)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--worker-threads", type=int, default=16)
    ap.add_argument(
        "--max-wait-s", type=float, default=3600.0, help="stop waiting for the runs after this long"
    )
    ap.add_argument("--serve-phones", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--adb-port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--host-index", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_phones:
        serve_phones(args.serve_phones, args.adb_port, args.host_index)
        return

    import httpx

    from tests.stack import AdbServer, FarmStack

    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    stack = FarmStack(tmp, mode="production")
    # the farm's own timers, not the test stack's accelerated ones (6 s stale, 4 s redispatch):
    # on a loaded 2-core box a heartbeat can be late by more than 6 s, and the reconciler then
    # took healthy runs away from their workers
    stack.env.update(FARM_STALE_RUN_S="30", FARM_REDISPATCH_S="30", FARM_HEARTBEAT_S="5")
    adbs: list[AdbServer] = []
    phone_procs: list[subprocess.Popen[str]] = []
    total = args.hosts * args.phones
    try:
        stack.start_api()
        t0 = time.monotonic()
        for h in range(args.hosts):
            adb = AdbServer(tmp / f"adb{h}")
            adb.start()
            adbs.append(adb)
            proc = subprocess.Popen(
                [sys.executable, __file__, "--serve-phones", str(args.phones), "--adb-port", str(adb.port),
                 "--host-index", str(h)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=stack.env,
            )  # fmt: skip
            phone_procs.append(proc)
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            stack.start_agent(adb, f"host{h}")
            stack.start_worker(adb, f"host{h}", concurrency=min(args.phones, args.worker_threads))
        stack.wait_online(total, timeout=120 + 2 * total)
        print(f"{args.hosts} hosts × {args.phones} sim phones online in {time.monotonic() - t0:.1f} s")
        model = stack.upload(TINY)

        # users: one token each
        from contracts.vocabulary import Role
        from server.auth.service import create_token
        from server.db import session_scope

        with session_scope() as db:
            tokens = [create_token(db, f"user{u}", Role.submitter) for u in range(args.users)]
        jobs_total = max(1, round(args.runs / total))
        reads: list[float] = []
        read_timeouts = 0
        stop = threading.Event()

        def reader() -> None:
            nonlocal read_timeouts
            with httpx.Client(base_url=stack.http.base_url, headers=stack.http.headers, timeout=30) as c:
                while not stop.is_set():
                    t = time.perf_counter()
                    try:
                        c.get("/benchmarks", params={"limit": 20, "runs": "false"})
                        c.get("/devices")
                    except httpx.TransportError:  # over 30 s, or a keep-alive connection reset
                        read_timeouts += 1  # counted, and sampling goes on
                        continue
                    reads.append((time.perf_counter() - t) * 1000 / 2)
                    time.sleep(0.2)

        job_ids: list[int] = []
        lock = threading.Lock()

        def user(u: int) -> None:
            mine = [j for j in range(jobs_total) if j % args.users == u]
            with httpx.Client(
                base_url=stack.http.base_url, headers={"Authorization": f"Bearer {tokens[u]}"}, timeout=60
            ) as c:
                for _ in mine:
                    body = {"model": str(model["id"]), "devices": {"all": True}, "public": True, **SPEC}
                    resp = c.post("/benchmarks", json=body)
                    assert resp.status_code == 202, resp.text
                    with lock:
                        job_ids.append(int(resp.json()["id"]))

        # CPU per process kind over the run: where a run's cost goes on this machine
        kinds = {
            "api": [stack.procs[0].pid],
            "workers": [p.pid for p in stack.procs if "worker" in str(p.args)],
            "agents": [p.pid for p in stack.procs if "'agent'" in str(p.args)],
            "phones": [p.pid for p in phone_procs],
            "adb servers": [pid for a in adbs for pid in _pids_matching(f"tcp:{a.port}", "fork-server")],
            "postgres": _pids_matching("postgres:", stack.db_name),
            "this (users, readers)": [os.getpid()],
        }
        cpu_before = cpu_by_kind(kinds)
        readers = [threading.Thread(target=reader, daemon=True) for _ in range(2)]
        for reader_thread in readers:
            reader_thread.start()
        start = time.monotonic()
        users = [threading.Thread(target=user, args=(u,)) for u in range(args.users)]
        for t in users:
            t.start()
        for t in users:
            t.join()
        submitted = time.monotonic() - start
        _wait_all_final(deadline=start + args.max_wait_s)
        wall = time.monotonic() - start
        stop.set()
        kinds["postgres"] = _pids_matching("postgres:", stack.db_name)  # backends opened since
        cpu_after = cpu_by_kind(kinds)

        from sqlalchemy import func, select

        from server.jobs.models import Run
        from server.results.models import Result

        with session_scope() as db:
            runs = list(db.scalars(select(Run)))
            results = {r.run_id: r for r in db.scalars(select(Result))}
            dup = db.scalar(
                select(func.count()).select_from(
                    select(Result.run_id).group_by(Result.run_id).having(func.count() > 1).subquery()
                )
            )
        states: dict[str, int] = {}
        for r in runs:
            states[r.state] = states.get(r.state, 0) + 1
        started = sorted(r.started_at.timestamp() for r in runs if r.started_at)
        finished = [r.finished_at.timestamp() for r in runs if r.finished_at]
        busy = 0.0
        overheads = []
        for r in runs:
            res = results.get(r.id)
            if res is None or r.started_at is None or r.finished_at is None:
                continue
            bench_s = sum((res.env or {}).get("trial_wall_s") or [0.0])
            busy += bench_s
            overheads.append((r.finished_at - r.started_at).total_seconds() - bench_s)
        window = max(finished) - min(started) if started and finished else wall
        # saturated: the middle 80 % of starts (the queue is full between the first and last wave)
        lo, hi = started[len(started) // 10], started[-max(1, len(started) // 10)]
        mid = [s for s in started if lo <= s <= hi]
        throughput = (len(mid) - 1) / (hi - lo) if hi > lo else float("nan")
        lost = len(runs) - states.get("succeeded", 0) - states.get("failed", 0)
        print(
            f"size: {args.hosts} hosts × {args.phones} phones = {total} phones, {len(runs)} runs "
            f"({len(job_ids)} jobs from {args.users} users, submitted in {submitted:.1f} s), wall {wall:.1f} s"
        )
        print(f"run states: {states}")
        print(f"dispatch throughput (saturated, middle 80 % of starts): {throughput:.1f} runs started/s")
        print(
            f"phone utilisation: {busy / (total * window):.1%} of phone time inside benchmark_model "
            f"(busy window {window:.1f} s)"
        )
        print(
            f"per-run overhead (start→finish minus benchmark wall): median {statistics.median(overheads) * 1000:.0f} ms, "
            f"p90 {percentile(overheads, 90) * 1000:.0f} ms"
        )
        sampled = f"p50 {percentile(reads, 50):.0f} ms, p99 {percentile(reads, 99):.0f} ms, " if reads else ""
        print(
            f"API reads during the run: {len(reads)} samples, {sampled}"
            f"{read_timeouts} pairs of reads failed (over 30 s or reset)"
        )
        n = max(1, len(runs))
        spent = {k: cpu_after[k] - cpu_before.get(k, 0.0) for k in cpu_after}
        print(
            f"CPU per run: {sum(spent.values()) / n * 1000:.0f} ms ("
            + ", ".join(f"{k} {v / n * 1000:.0f}" for k, v in sorted(spent.items(), key=lambda kv: -kv[1]))
            + f"); load average at the end {os.getloadavg()[0]:.1f}"
        )
        print(f"lost (not final) runs: {lost}; duplicated results: {dup}")
        try:
            stack.assert_exactly_once()
            print("exactly-once check: passed")
        except AssertionError as exc:
            print(f"exactly-once check: FAILED: {exc}")
    finally:
        for proc in phone_procs:
            if proc.stdin:
                proc.stdin.close()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for adb in adbs:
            adb.stop()
        stack.close()


if __name__ == "__main__":
    main()
