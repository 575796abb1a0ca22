"""Dashboard pages at farm scale: 1,000 phones × 100 models × 4 delegates = 400,000 results.

Why: the leaderboard and the comparison table aggregate the whole results table; this
fills a fresh Postgres database (migrated like production) with COPY and prints the
server time of each page (median of 5 in-process requests through TestClient, after
one warm-up), so a regression in the SQL or a missing index shows up as a number. It also
times a /metrics scrape (counters, server/counters.py) against the aggregate queries a scrape
ran before the counters, on the same rows.
Prints figures only; asserts nothing. The database is dropped at the end.

    python bench/dashboard_scale.py [--phones 1000] [--models 100]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
DELEGATES = ("cpu", "gpu", "nnapi", "xnnpack")
DELEGATE_FACTOR = {"cpu": 1.0, "gpu": 0.35, "nnapi": 0.6, "xnnpack": 0.8}
SOCS = [
    ("Snapdragon 625", 2.3, [3, 4]),
    ("Snapdragon 845", 1.0, [4, 6, 8]),
    ("Snapdragon 430", 5.1, [2, 3]),
    ("Exynos 7420", 2.4, [3]),
    ("Snapdragon 865", 0.7, [8, 12]),
    ("Snapdragon 8 Gen 2", 0.45, [8, 12]),
    ("Tensor G2", 0.6, [8, 12]),
    ("Dimensity 1200", 0.8, [6, 8]),
    ("Exynos 2200", 0.65, [8]),
    ("Snapdragon 660", 1.8, [4, 6]),
]


def copy(cur: psycopg.Cursor, table: str, columns: list[str], rows: Sequence[tuple[object, ...]]) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)


def fill(url: str, n_phones: int, n_models: int, seed: int = 7) -> int:
    rnd = random.Random(seed)
    now = "2024-06-01T12:00:00+00:00"
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn, conn.cursor() as cur:
        copy(cur, "farm_hosts", ["id", "name", "queue", "created_at"], [(1, "bench", "host.bench", now)])
        phones = []
        speed = {}
        for i in range(1, n_phones + 1):
            soc, factor, rams = SOCS[i % len(SOCS)]
            ram_gb = rams[i % len(rams)]
            virtual = i % 50 == 0
            speed[i] = factor * rnd.uniform(0.9, 1.1)
            phones.append(
                (
                    i,
                    f"SER{i:06d}",
                    1,
                    "Acme",
                    f"Phone {i}",
                    soc,
                    True,
                    ram_gb * 1024 - rnd.randint(150, 400),
                    "11",
                    "online",
                    False,
                    False,
                    0,
                    virtual,
                    "[]",
                    "[]",
                    now,
                )
            )
        copy(
            cur,
            "devices",
            [
                "id",
                "serial",
                "host_id",
                "manufacturer",
                "model",
                "soc_name",
                "soc_known",
                "ram_mb",
                "android_release",
                "state",
                "disabled",
                "quarantined",
                "consecutive_failures",
                "is_virtual",
                "tags",
                "cpu_max_freqs_khz",
                "created_at",
            ],
            phones,
        )
        models = []
        base_ms = {}
        for m in range(1, n_models + 1):
            side = rnd.choice([224, 256, 257, 512, 513])
            base_ms[m] = rnd.uniform(20, 900)
            inputs = json.dumps([{"name": "input", "shape": [1, side, side, 3], "dtype": "FLOAT32"}])
            models.append(
                (
                    m,
                    uuid.uuid4().hex * 2,
                    f"net_{m:03d}",
                    rnd.randint(1, 30) << 20,
                    inputs,
                    "[]",
                    "[]",
                    f"/m/{m}.tflite",
                    True,
                    now,
                )
            )
        copy(
            cur,
            "models",
            [
                "id",
                "sha256",
                "name",
                "size_bytes",
                "inputs",
                "outputs",
                "operators",
                "path",
                "public",
                "created_at",
            ],
            models,
        )
        copy(cur, "users", ["id", "name", "created_at"], [(1, "bench", now)])
        copy(
            cur,
            "jobs",
            ["id", "model_id", "spec", "state", "submitter_id", "public", "created_at"],
            [(m, m, "{}", "succeeded", 1, True, now) for m in range(1, n_models + 1)],
        )
        runs = io.StringIO()
        results = io.StringIO()
        rid = 0
        for m in range(1, n_models + 1):
            for d in range(1, n_phones + 1):
                for delegate in DELEGATES:
                    rid += 1
                    avg = base_ms[m] * speed[d] * DELEGATE_FACTOR[delegate] * rnd.uniform(0.95, 1.05) * 1000
                    std = avg * rnd.uniform(0.01, 0.06)
                    runs.write(f"{rid}\t{m}\t{d}\t{d}\t{delegate}\t4\tsucceeded\t1\t{now}\n")
                    results.write(
                        f"{rid}\t{rid}\t{m}\t{m}\t{d}\t{delegate}\t4\t{avg:.1f}\t{avg * 0.9:.1f}\t{avg * 1.2:.1f}"
                        f"\t{std:.1f}\t{avg:.1f}\t3\t50\tf\t{{}}\t{now}\n"
                    )
        with cur.copy(
            "COPY runs (id, job_id, device_id, original_device_id, delegate, threads, state, attempts, queued_at) "
            "FROM STDIN"
        ) as cp:
            cp.write(runs.getvalue())
        with cur.copy(
            "COPY results (id, run_id, job_id, model_id, device_id, delegate, threads, avg_us, min_us, max_us, "
            "std_us, median_us, trials, count, unstable, env, created_at) FROM STDIN"
        ) as cp:
            cp.write(results.getvalue())
        for table in ("users", "farm_hosts", "devices", "models", "jobs", "runs", "results"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        conn.commit()
        # COPY bypasses the lifecycle, which keeps the rollups with each result: rebuild them once
        from sqlalchemy import create_engine

        from server import counters
        from server.results.rollup import rebuild

        t0 = time.perf_counter()
        engine = create_engine(url)
        with engine.begin() as sa_conn:
            rebuild(sa_conn)
            counters.rebuild(sa_conn)
        engine.dispose()
        print(f"rollups and counters rebuilt in {time.perf_counter() - t0:.1f} s")
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
        return rid


def timed(client: object, path: str, repeat: int = 5) -> tuple[float, int, int]:
    get = client.get  # type: ignore[attr-defined]
    resp = get(path)  # warm-up: connection pool, template compilation
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        resp = get(path)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, resp.status_code, len(resp.content)


def aggregate_scrape() -> None:
    """What /metrics queried per scrape before farm_counters (kept here for the comparison)."""
    from sqlalchemy import case, func, select

    from server.db import session_scope
    from server.devices.models import Device, FarmHost
    from server.jobs.models import Run

    with session_scope() as db:
        db.execute(select(Run.state, func.count()).group_by(Run.state)).all()
        db.execute(
            select(FarmHost.queue, func.count(Run.id))
            .select_from(Run)
            .join(Device, Device.id == Run.device_id)
            .join(FarmHost, FarmHost.id == Device.host_id)
            .where(Run.state == "queued")
            .group_by(FarmHost.queue)
        ).all()
        list(db.scalars(select(Device)))
        seconds = func.extract("epoch", Run.finished_at - Run.started_at)
        cols = [func.sum(case((seconds <= b, 1), else_=0)) for b in (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600)]
        db.execute(
            select(func.count(), func.coalesce(func.sum(seconds), 0.0), *cols).where(
                Run.state == "succeeded", Run.started_at.is_not(None), Run.finished_at.is_not(None)
            )
        ).one()


def scrape_figures(client: object, repeat: int = 5) -> None:
    from contracts.vocabulary import Role
    from server import metrics
    from server.auth.service import create_token
    from server.db import session_scope

    with session_scope() as db:
        token = create_token(db, "scraper", Role.admin)
    get = client.get  # type: ignore[attr-defined]
    times, before = [], []
    for _ in range(repeat + 1):
        metrics._cache.clear()  # every scrape reads the database
        t0 = time.perf_counter()
        resp = get("/metrics", headers={"Authorization": f"Bearer {token}"})
        times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        aggregate_scrape()
        before.append(time.perf_counter() - t0)
    assert resp.status_code == 200, resp.text
    collect = []
    for _ in range(repeat + 1):
        metrics._cache.clear()
        t0 = time.perf_counter()
        metrics.render()
        collect.append(time.perf_counter() - t0)
    print(f"{'/metrics scrape, counters (request)':40s} {statistics.median(times[1:]) * 1000:10.1f}")
    print(f"{'/metrics render, counters (no HTTP/auth)':40s} {statistics.median(collect[1:]) * 1000:10.1f}")
    print(f"{'/metrics queries before (aggregates)':40s} {statistics.median(before[1:]) * 1000:10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=1000)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="do not drop the database (prints its URL)")
    parser.add_argument("--metrics-only", action="store_true", help="time /metrics only, not the pages")
    args = parser.parse_args()
    name = f"farm_bench_{uuid.uuid4().hex[:8]}"
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        os.environ["FARM_DATABASE_URL"] = url
        os.environ.setdefault("FARM_BROKER_URL", "redis://127.0.0.1:6379/15")
        from server.db import reset_caches
        from server.migrate import upgrade

        reset_caches()
        upgrade(url)
        t0 = time.perf_counter()
        n = fill(url, args.phones, args.models)
        print(
            f"filled {name}: {args.phones} phones × {args.models} models × 4 delegates = {n} results "
            f"in {time.perf_counter() - t0:.1f} s"
        )

        from fastapi.testclient import TestClient

        from server.main import create_app

        mid = max(1, args.models // 2)
        four = ",".join(str(i) for i in range(1, min(args.models, 4) + 1))
        every = ",".join(str(i) for i in range(1, args.models + 1))
        pages = [
            ("leaderboard, best delegate", f"/leaderboard?model={mid}"),
            ("leaderboard, GPU", f"/leaderboard?model={mid}&delegate=gpu"),
            ("leaderboard, best, with virtual", f"/leaderboard?model={mid}&include_virtual=1"),
            ("compare, 4 models", f"/compare?models={four}"),
            ("compare, default (20 most recent)", "/compare"),
            (f"compare, all {args.models} models", f"/compare?models={every}"),
            ("compare.csv, 4 models", f"/compare.csv?models={four}"),
            ("compare.md, 4 models", f"/compare.md?models={four}"),
        ]
        with TestClient(create_app(reconcile=False)) as client:
            print(f"{'page':40s} {'median ms':>10s} {'status':>6s} {'bytes':>9s}")
            for label, path in [] if args.metrics_only else pages:
                ms, status, size = timed(client, path)
                print(f"{label:40s} {ms:10.1f} {status:6d} {size:9d}")
            scrape_figures(client)
        reset_caches()
    finally:
        if args.keep:
            print("kept", url)
        else:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
