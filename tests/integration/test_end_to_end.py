"""The spine: upload → submit → Celery worker → adb → virtual phones → results in the database."""

from __future__ import annotations

import pytest

from tests.integration.conftest import FIXTURE_MODEL, SEED_PHONES
from tests.stack import AdbServer, FarmStack

pytestmark = pytest.mark.integration


def test_benchmark_all_phones_cpu_and_gpu(stack: FarmStack, adb_server: AdbServer, fleet) -> None:
    for profile in SEED_PHONES:
        phone = fleet.add(profile)
        adb_server.connect(phone.address)
    stack.start_api()
    stack.start_worker(adb_server)
    stack.start_agent(adb_server)
    devices = stack.wait_online(4)
    assert {d["soc_name"] for d in devices} == {
        "Snapdragon 625",
        "Snapdragon 845",
        "Snapdragon 430",
        "Exynos 7420",
    }

    model = stack.upload(FIXTURE_MODEL)
    assert model["inputs"][0]["shape"][0] == 1
    resp = stack.http.post(
        "/benchmarks",
        json={
            "model": str(model["id"]),
            "devices": {"all": True},
            "delegates": ["cpu", "gpu"],
            "threads": [2],
            "num_runs": 10,
            "warmup_runs": 1,
            "min_secs": 0.05,
            "warmup_min_secs": 0.01,
            "trials": 2,
            "cooldown_s": 0,
        },
    )
    assert resp.status_code == 202, resp.text
    job = stack.wait_job(resp.json()["id"])
    assert job["state"] == "succeeded", stack.logs()
    assert job["progress"] == {
        "total": 8,
        "queued": 0,
        "running": 0,
        "succeeded": 8,
        "failed": 0,
        "cancelled": 0,
        "done": 8,
    }
    pairs = {(r["device_id"], r["delegate"]) for r in job["runs"]}
    assert len(pairs) == 8
    for run in job["runs"]:
        res = run["result"]
        assert res is not None, run
        assert 0 < res["min_us"] <= res["avg_us"] <= res["max_us"]
        assert res["count"] >= 10
        assert res["init_us"] > 0
        assert res["battery_before"] is not None and res["temp_before_c"] is not None
        assert "--graph=/data/local/tmp/phonefarm/" in run["command"]
    raw = stack.http.get(f"/benchmarks/{job['id']}", params={"raw": "true"}).json()
    assert all("Inference timings in us" in r["raw_output"] for r in raw["runs"])

    listed = stack.http.get("/results", params={"model": str(model["id"])}).json()
    assert listed["total"] == 8
    csv = stack.http.get("/results", params={"model": str(model["id"])}, headers={"Accept": "text/csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text.strip().splitlines()) == 9

    # the model is now cached on each phone: a second job pushes nothing and still succeeds
    again = stack.http.post(
        "/benchmarks",
        json={
            "model": model["sha256"],
            "devices": {"socs": ["Snapdragon 845"]},
            "delegates": ["cpu"],
            "threads": [1],
            "num_runs": 5,
            "min_secs": 0.01,
            "warmup_min_secs": 0.01,
            "trials": 1,
        },
    ).json()
    job2 = stack.wait_job(again["id"])
    assert job2["state"] == "succeeded"
    assert len(job2["runs"]) == 1


def test_no_matching_phone_is_named(stack: FarmStack, adb_server: AdbServer, fleet) -> None:
    phone = fleet.add("sdm845")
    adb_server.connect(phone.address)
    stack.start_api()
    stack.start_agent(adb_server)
    stack.wait_online(1)
    model = stack.upload(FIXTURE_MODEL)
    resp = stack.http.post(
        "/benchmarks", json={"model": str(model["id"]), "devices": {"socs": ["Snapdragon 999"]}}
    )
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "Snapdragon 999" in resp.json()["detail"]
    assert "Snapdragon 845" in resp.json()["available_socs"]
