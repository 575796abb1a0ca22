"""The device agent keeps the farm's view true: phones join and leave as adb sees them,
unauthorized phones say so, and two farm hosts share one server."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.integration.conftest import FIXTURE_MODEL
from tests.stack import QUICK, AdbServer, FarmStack, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def prod(prod: FarmStack) -> FarmStack:
    """tests/conftest.py's farm, marking a silent phone offline after 3 s."""
    prod.env["FARM_OFFLINE_AFTER_S"] = "3"
    return prod


def state_of(stack: FarmStack, serial: str) -> str | None:
    return next((d["state"] for d in stack.devices() if d["address"] == serial), None)


def test_phones_join_and_leave_as_adb_sees_them(prod: FarmStack, adb_server: AdbServer, fleet) -> None:
    prod.start_api()
    prod.start_agent(adb_server)
    wait_for(lambda: prod.http.get("/devices").status_code == 200, 10)
    time.sleep(1.0)  # the agent is following adb's device list
    phone = fleet.add("gs201")
    t0 = time.monotonic()
    adb_server.connect(phone.address)
    # the latency is a figure (printed; bench/ measures it), not an assert: a loaded machine is slow
    wait_for(lambda: state_of(prod, phone.address) == "online", 30, 0.05, "phone online")
    joined = time.monotonic() - t0
    device = next(d for d in prod.devices() if d["address"] == phone.address)
    assert device["soc_name"] == "Tensor G2" and device["soc_known"] and device["is_virtual"]
    assert device["ram_mb"] and device["cpu_cores"] == 8 and device["gpu"]
    phone.stop()
    t0 = time.monotonic()
    wait_for(lambda: state_of(prod, phone.address) == "offline", 30, 0.05, "phone offline")
    print(f"joined in {joined:.2f} s, left in {time.monotonic() - t0:.2f} s")
    phone.start()  # plugged back in: adb reconnects, the agent re-registers it
    wait_for(lambda: state_of(prod, phone.address) == "online", 15, 0.1, "phone back online")


def test_unauthorized_phone_tells_the_operator_what_to_do(
    prod: FarmStack, adb_server: AdbServer, fleet
) -> None:
    phone = fleet.add("sdm845", auth=True, allowed_keys=[])
    prod.start_api()
    prod.start_agent(adb_server)
    adb_server.client.connect(phone.address, timeout=5)
    device = wait_for(
        lambda: next(
            (d for d in prod.devices() if d["address"] == phone.address and d["state"] == "unauthorized"),
            None,
        ),
        10,
        0.1,
        "unauthorized phone",
    )
    assert "Allow USB debugging" in device["hint"]
    resp = prod.http.post("/benchmarks", json={"model": "1", "devices": {"all": True}})
    assert resp.status_code == 422


def test_two_hosts_share_one_server_and_keep_their_phones(prod: FarmStack, tmp_path: Path, fleet) -> None:
    adb_a, adb_b = AdbServer(tmp_path / "adb-a"), AdbServer(tmp_path / "adb-b")
    adb_a.start()
    adb_b.start()
    try:
        phones_a = [fleet.add(p) for p in ("msm8953", "sdm845")]
        phones_b = [fleet.add(p) for p in ("exynos7420", "s5e9925")]
        for p in phones_a:
            adb_a.connect(p.address)
        for p in phones_b:
            adb_b.connect(p.address)
        prod.start_api()
        prod.start_agent(adb_a, "hostA")
        agent_b = prod.start_agent(adb_b, "hostB")
        worker_a = prod.start_worker(adb_a, "hostA")
        worker_b = prod.start_worker(adb_b, "hostB")
        devices = prod.wait_online(4)
        host_of = {d["id"]: d["host"] for d in devices}
        assert sorted(host_of.values()) == ["hostA", "hostA", "hostB", "hostB"]
        model = prod.upload(FIXTURE_MODEL)
        resp = prod.http.post(
            "/benchmarks",
            json={"model": str(model["id"]), "devices": {"all": True}, "delegates": ["cpu", "gpu"], **QUICK},
        )
        job = prod.wait_job(resp.json()["id"], 120)
        assert job["state"] == "succeeded", prod.logs()
        from sqlalchemy import select

        from server.db import session_scope
        from server.jobs.models import Run

        with session_scope() as db:
            workers = {r.device_id: r.worker for r in db.scalars(select(Run).where(Run.job_id == job["id"]))}
        for device_id, worker in workers.items():
            pid = worker_a.pid if host_of[device_id] == "hostA" else worker_b.pid
            assert worker is not None and worker.endswith(f":{pid}"), (device_id, worker)
        # host B's agent dies: its phones go offline once its heartbeats stop
        os.killpg(agent_b.pid, signal.SIGKILL)
        serials_b = {p.address for p in phones_b}
        wait_for(lambda: all(state_of(prod, s) == "offline" for s in serials_b), 15, 0.2, "host B offline")
        assert all(state_of(prod, p.address) == "online" for p in phones_a)
        prod.assert_exactly_once()
    finally:
        adb_a.stop()
        adb_b.stop()
