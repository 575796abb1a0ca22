"""Faults survived with real components. Each test ends with the same check: every run has
exactly one final state and every succeeded run exactly one result."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import FIXTURE_MODEL
from tests.stack import AdbServer, FarmStack, PrivatePostgres, wait_for

pytestmark = pytest.mark.integration

LONG = {
    "num_runs": 10000,
    "min_secs": 4.0,
    "max_secs": 5.0,
    "warmup_min_secs": 0.0,
    "trials": 1,
    "cooldown_s": 0,
    "thermal_limit_c": None,
    "screen_off": False,
    "threads": [1],
}
QUICK = LONG | {"num_runs": 5, "min_secs": 0.0, "max_secs": 2.0}


def submit(stack: FarmStack, model_id: int, devices: dict, **spec: object) -> int:
    body = {"model": str(model_id), "devices": devices, "delegates": ["cpu"], **(LONG | spec)}
    resp = stack.http.post("/benchmarks", json=body)
    assert resp.status_code == 202, resp.text
    return int(resp.json()["id"])


def start(stack: FarmStack, adb: AdbServer, fleet, profiles: list[str]) -> list:
    phones = [fleet.add(p) for p in profiles]
    for p in phones:
        adb.connect(p.address)
    stack.start_api()
    stack.start_agent(adb)
    stack.wait_online(len(phones))
    return phones


def test_phone_unplugged_mid_run_finishes_on_its_twin(prod: FarmStack, adb_server: AdbServer, fleet) -> None:
    a, b = start(prod, adb_server, fleet, ["sdm845", "sdm845"])
    prod.start_worker(adb_server)
    model = prod.upload(FIXTURE_MODEL)
    devices = {d["address"]: d["id"] for d in prod.devices()}
    job = submit(prod, model["id"], {"ids": [devices[a.address]]})
    prod.wait_run_state(job, "running")
    a.stop()  # unplug
    done = prod.wait_job(job, 90)
    assert done["state"] == "succeeded", prod.logs()
    (run,) = done["runs"]
    assert run["device_id"] == devices[b.address] and run["original_device_id"] == devices[a.address]
    assert run["attempts"] == 2
    wait_for(lambda: prod.http.get(f"/devices/{devices[a.address]}").json()["state"] == "offline", 10)
    # a phone that vanished is not a phone that failed: nothing counts towards its quarantine
    assert prod.http.get(f"/devices/{devices[a.address]}").json()["consecutive_failures"] == 0
    prod.assert_exactly_once()


def test_an_api_gone_when_a_run_ends_queues_the_run_again_and_blames_nobody(
    prod: FarmStack, adb_server: AdbServer, fleet
) -> None:
    """The API restarting (or too loaded to answer) while a run finishes: the worker cannot hand
    the result in, and the run is neither failed nor counted against the phone; the reconciler
    queues it again once the API is back, and it succeeds on its second attempt."""
    phones = [fleet.add("sdm845")]
    adb_server.connect(phones[0].address)
    api = prod.start_api()
    prod.start_agent(adb_server)
    prod.wait_online(1)
    prod.start_worker(adb_server)
    model = prod.upload(FIXTURE_MODEL)
    job = submit(prod, model["id"], {"all": True})
    worker_log = prod.tmp / f"worker-{prod.host_name}.log"
    wait_for(lambda: "starting 1 trial" in worker_log.read_text(errors="replace"), 90, 0.2, "benchmark")
    api.kill()  # mid-benchmark: every call the worker makes is refused until it gives up
    api.wait(10)
    wait_for(
        lambda: "the API did not answer" in worker_log.read_text(errors="replace"), 90, 0.5, "worker gives up"
    )
    prod.start_api()
    done = prod.wait_job(job, 120)
    assert done["state"] == "succeeded", prod.logs()
    (run,) = done["runs"]
    assert run["attempts"] == 2
    assert prod.devices()[0]["consecutive_failures"] == 0
    prod.assert_exactly_once()


def test_worker_killed_mid_run_is_redelivered_once(prod: FarmStack, adb_server: AdbServer, fleet) -> None:
    start(prod, adb_server, fleet, ["msm8953"])
    worker = prod.start_worker(adb_server)
    model = prod.upload(FIXTURE_MODEL)
    job = submit(prod, model["id"], {"all": True})
    prod.wait_run_state(job, "running")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    prod.start_worker(adb_server)
    done = prod.wait_job(job, 120)
    assert done["state"] == "succeeded", prod.logs()
    assert done["runs"][0]["attempts"] == 2
    prod.assert_exactly_once()


def test_broker_losing_its_queue_is_repaired_from_the_database(
    prod: FarmStack, adb_server: AdbServer, fleet
) -> None:
    import redis

    start(prod, adb_server, fleet, ["msm8937", "exynos7420"])
    model = prod.upload(FIXTURE_MODEL)
    job = submit(prod, model["id"], {"all": True}, **QUICK)
    r = redis.Redis.from_url(prod.broker_url)
    ours = f"{prod.broker_prefix}*"
    wait_for(lambda: list(r.scan_iter(ours)), 10, 0.1, "messages in Redis")
    # what a Redis restart without persistence does to queued work (only this farm's keys:
    # other farms may share the server)
    for key in list(r.scan_iter(ours)):
        r.delete(key)
    prod.start_worker(adb_server)
    done = prod.wait_job(job, 90)
    assert done["state"] == "succeeded", prod.logs()
    assert len(done["runs"]) == 2
    prod.assert_exactly_once()


def test_hanging_benchmark_is_killed_at_its_timeout_and_the_phone_freed(
    prod: FarmStack, adb_server: AdbServer, fleet
) -> None:
    (phone,) = start(prod, adb_server, fleet, ["sm8550"])
    phone.faults.benchmark_hang = True
    prod.env["FARM_RUN_TIMEOUT_S"] = "3"
    prod.start_worker(adb_server)
    model = prod.upload(FIXTURE_MODEL)
    job = prod.wait_job(submit(prod, model["id"], {"all": True}, **QUICK), 60)
    assert job["state"] == "failed"
    assert "timed out" in job["runs"][0]["error"]
    phone.faults.benchmark_hang = False
    again = prod.wait_job(submit(prod, model["id"], {"all": True}, **QUICK), 60)
    assert again["state"] == "succeeded", prod.logs()
    prod.assert_exactly_once()


def test_failing_phone_is_quarantined(prod: FarmStack, adb_server: AdbServer, fleet) -> None:
    prod.env["FARM_QUARANTINE_AFTER"] = "2"  # the API applies transitions: it reads the threshold
    (phone,) = start(prod, adb_server, fleet, ["mt6893"])
    phone.faults.benchmark_crash_signal = 11
    prod.start_worker(adb_server)
    model = prod.upload(FIXTURE_MODEL)
    for _ in range(2):
        job = prod.wait_job(submit(prod, model["id"], {"all": True}, **QUICK), 60)
        assert job["state"] == "failed"
    # the failed run keeps the phone's own log: the native crash is there, not only "exit 139"
    run = job["runs"][0]
    output = prod.http.get(f"/benchmarks/{job['id']}/runs/{run['id']}/output").text
    assert "=== logcat -d" in output and "Fatal signal 11" in output, output[-2000:]
    device = prod.devices()[0]
    assert device["state"] == "quarantined" and "Quarantined" in device["hint"]
    resp = prod.http.post("/benchmarks", json={"model": str(model["id"]), "devices": {"all": True}})
    assert resp.status_code == 422 and "quarantined" in resp.json()["detail"]
    prod.assert_exactly_once()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    try:
        pg = PrivatePostgres()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot make a private Postgres cluster: {exc}")
    pg.start()
    yield pg
    pg.close()


def test_postgres_restart_gives_503_then_recovers(tmp_path: Path, private_postgres: PrivatePostgres) -> None:
    prod = FarmStack(tmp_path, mode="production", pg_admin=private_postgres.url)
    try:
        prod.start_api()
        assert prod.http.get("/readyz").status_code == 200
        private_postgres.stop()
        try:
            resp = prod.http.get("/readyz")
            assert resp.status_code == 503 and "database" in resp.json()["detail"]
        finally:
            private_postgres.start()
        wait_for(lambda: prod.http.get("/readyz").status_code == 200, 30, 0.5, "readyz after restart")
        assert prod.http.get("/devices").status_code == 200
    finally:
        prod.close()
