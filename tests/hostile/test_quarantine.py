"""A submitter cannot take phones out of the farm: only failures the phone causes count.

Each test ends with: every run has exactly one final state, every success exactly one result.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.conftest import unallocatable_model
from tests.hostile.crafted import crafted
from tests.integration.conftest import FIXTURE_MODEL
from tests.stack import AdbServer, FarmStack

pytestmark = pytest.mark.integration

QUICK = {
    "num_runs": 3,
    "min_secs": 0.0,
    "max_secs": 2.0,
    "warmup_min_secs": 0.0,
    "trials": 1,
    "cooldown_s": 0,
    "thermal_limit_c": None,
    "screen_off": False,
    "delegates": ["cpu"],
}


def _start(stack: FarmStack, adb: AdbServer, fleet, profiles: list[str]) -> list:
    phones = [fleet.add(p) for p in profiles]
    for p in phones:
        adb.connect(p.address)
    stack.env["FARM_QUARANTINE_AFTER"] = "2"
    stack.start_api()
    stack.start_agent(adb)
    stack.wait_online(len(phones))
    stack.start_worker(adb)
    return phones


def test_a_model_that_fails_to_allocate_on_every_phone_quarantines_no_phone(
    prod: FarmStack, adb_server: AdbServer, fleet, tmp_path: Path
) -> None:
    _start(prod, adb_server, fleet, ["sdm845", "msm8953"])
    bad = tmp_path / "alloc.tflite"
    bad.write_bytes(unallocatable_model())
    model = prod.upload(bad)
    body = {"model": str(model["id"]), "devices": {"all": True}, **QUICK, "threads": [1, 2, 3]}
    resp = prod.http.post("/benchmarks", json=body)
    assert resp.status_code == 202, resp.text
    job = prod.wait_job(resp.json()["id"], 120)
    assert job["state"] == "failed"
    assert {r["blame"] for r in job["runs"]} == {"model"}, job["runs"]
    assert {r["failure_kind"] for r in job["runs"]} == {"allocation"}
    devices = prod.devices()
    assert [d["state"] for d in devices] == ["online", "online"], devices
    good = prod.upload(FIXTURE_MODEL)
    again = prod.http.post("/benchmarks", json={**body, "model": str(good["id"]), "threads": [1]})
    assert again.status_code == 202, again.text
    assert prod.wait_job(again.json()["id"], 120)["state"] == "succeeded", prod.logs()
    prod.assert_exactly_once()


def test_a_crash_on_every_phone_is_the_models_and_quarantines_no_phone(
    prod: FarmStack, adb_server: AdbServer, fleet
) -> None:
    phones = _start(prod, adb_server, fleet, ["sdm845", "msm8953"])
    for p in phones:  # what a model that crashes the runtime looks like from the farm
        p.faults.benchmark_crash_signal = 11
    model = prod.upload(FIXTURE_MODEL)
    body = {"model": str(model["id"]), "devices": {"all": True}, **QUICK, "threads": [1, 2, 3]}
    job = prod.wait_job(prod.http.post("/benchmarks", json=body).json()["id"], 120)
    assert job["state"] == "failed"
    # at most the very first failure is blamed on a phone until a second phone shows the same
    assert sum(r["blame"] == "phone" for r in job["runs"]) <= 1, job["runs"]
    assert [d["state"] for d in prod.devices()] == ["online", "online"]
    prod.assert_exactly_once()


def test_a_phone_with_hostile_properties_registers_bounded_and_the_others_still_join(
    prod: FarmStack, adb_server: AdbServer, fleet
) -> None:
    import dataclasses

    hostile, normal = fleet.add("mt6893"), fleet.add("msm8953")
    props = dict(hostile.device.profile.props)
    props |= {
        "ro.build.version.sdk": "99999999999999999999",
        "ro.product.manufacturer": "M" * 65,
        "ro.product.model": "=cmd|' /C calc'!A0" + "x" * 1000,
    }
    hostile.device.profile = dataclasses.replace(hostile.device.profile, props=props)
    (hostile.device.root / "proc" / "cpuinfo").write_text("Hardware\t: " + "a" * 100_000 + "\n")
    for p in (hostile, normal):
        adb_server.connect(p.address)
    prod.start_api()
    prod.start_agent(adb_server)
    online = {d["address"]: d for d in prod.wait_online(2, timeout=60)}
    bad = online[hostile.address]
    assert bad["sdk"] is None and len(bad["manufacturer"]) == 64 and len(bad["model"]) == 128
    assert online[normal.address]["sdk"] is not None


def test_a_model_the_low_memory_killer_kills_is_the_models_failure_and_quarantines_no_phone(
    prod: FarmStack, adb_server: AdbServer, fleet, tmp_path: Path
) -> None:
    (phone,) = _start(prod, adb_server, fleet, ["sdm845"])  # one phone: no second phone's evidence
    phone.device.process_memory_kb = 300 * 1024  # the phone's budget for one process, made small
    huge = tmp_path / "huge.tflite"  # declares 183 MB of tensors, takes ~750 MB at AllocateTensors
    huge.write_bytes(crafted(dims=[1, 4000, 4000, 3], constant=False))
    model = prod.upload(huge)
    body = {"model": str(model["id"]), "devices": {"all": True}, **QUICK, "threads": [1, 2, 3]}
    resp = prod.http.post("/benchmarks", json=body)
    assert resp.status_code == 202, resp.text
    job = prod.wait_job(resp.json()["id"], 120)
    assert job["state"] == "failed"
    assert {r["failure_kind"] for r in job["runs"]} == {"out_of_memory"}, job["runs"]
    assert {r["blame"] for r in job["runs"]} == {"model"}, job["runs"]
    assert [d["state"] for d in prod.devices()] == ["online"]  # 3 failures, quarantine after 2: none
    good = prod.upload(FIXTURE_MODEL)
    again = prod.http.post("/benchmarks", json={**body, "model": str(good["id"]), "threads": [1]})
    assert again.status_code == 202, again.text
    assert prod.wait_job(again.json()["id"], 120)["state"] == "succeeded", prod.logs()
    prod.assert_exactly_once()
