"""Every zoo network runs through the farm on a virtual phone: upload, job, one result each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import AdbServer, FarmStack

# pytest-timeout counts fixture setup: building the zoo with TensorFlow alone took 221 s on a loaded
# 2-core machine, so the default 300 s would fail a correct farm
pytestmark = [pytest.mark.zoo, pytest.mark.integration, pytest.mark.timeout(1500)]


@pytest.fixture(scope="module")
def zoo_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    pytest.importorskip("tensorflow")
    from models.build import build
    from models.zoo import names

    out = tmp_path_factory.mktemp("zoo")
    cards = build(None, ["fp16"], out)
    assert sorted(c.name for c in cards) == sorted(names())
    return sorted(out.glob("*.tflite"))


@pytest.fixture
def farm(tmp_path: Path) -> Iterator[FarmStack]:
    s = FarmStack(tmp_path, mode="production")
    yield s
    s.close()


def test_each_zoo_model_runs_on_a_virtual_phone(
    farm: FarmStack, tmp_path: Path, zoo_files: list[Path]
) -> None:
    from device_agent.virtual.fleet import PhoneFleet

    adb = AdbServer(tmp_path / "adbhome")
    adb.start()
    fleet = PhoneFleet()
    try:
        phone = fleet.add("sm8550")
        adb.connect(phone.address)
        farm.start_api()
        farm.start_agent(adb)
        farm.start_worker(adb)
        farm.wait_online(1)
        jobs = {}
        for path in zoo_files:
            model = farm.upload(path)
            body = {
                "model": str(model["id"]),
                "devices": {"all": True},
                "delegates": ["cpu"],
                "threads": [2],
                "num_runs": 2,
                "warmup_runs": 1,
                "min_secs": 0.0,
                "warmup_min_secs": 0.0,
                "trials": 1,
                "thermal_limit_c": None,
                "cooldown_s": 0,
                "screen_off": False,
            }
            resp = farm.http.post("/benchmarks", json=body)
            assert resp.status_code == 202, resp.text
            jobs[path.stem] = resp.json()["id"]
        for name, job_id in jobs.items():
            job = farm.wait_job(job_id, 300)
            assert job["state"] == "succeeded", (name, job["runs"][0]["error"])
            result = job["runs"][0]["result"]
            assert result["avg_us"] > 0 and result["count"] >= 2, name
        farm.assert_exactly_once()
    finally:
        fleet.close()
        adb.stop()
