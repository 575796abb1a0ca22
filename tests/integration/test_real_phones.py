"""Phones that look real (`as_real`: no ro.phonefarm.* props, no stub) take the real path:
binaries registered per ABI, chosen by the phone's abilist, probed with --help; a farm
without a binary is the host's mistake and never the phone's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from contracts.elf import fake_elf
from tests.integration.conftest import FIXTURE_MODEL
from tests.stack import QUICK as STACK_QUICK
from tests.stack import ROOT, AdbServer, FarmStack

pytestmark = pytest.mark.integration

QUICK = STACK_QUICK | {
    "num_runs": 3,
    "max_secs": 2.0,
    "warmup_runs": 1,
    "delegates": ["cpu"],
    "battery_floor": 0,
}


@pytest.fixture
def bare(tmp_path: Path):  # a farm with no benchmark binary at all, as on day one
    s = FarmStack(tmp_path, mode="production", binaries=False)
    yield s
    s.close()


@pytest.fixture
def real_fleet():
    from device_agent.virtual.fleet import PhoneFleet

    f = PhoneFleet(as_real=True)
    yield f
    f.close()


def farm(cli_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=cli_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_real_looking_phones_without_a_binary_then_with_one(
    bare: FarmStack, adb_server: AdbServer, real_fleet, tmp_path: Path
) -> None:
    arm64 = real_fleet.add("sdm845")
    go = real_fleet.add("msm8917")  # armeabi-v7a only, benchmark_model 1.15 pinned
    for p in (arm64, go):
        adb_server.connect(p.address)
    assert "phonefarm" not in adb_server.cmd("-s", go.address, "shell", "getprop").stdout
    bare.start_api()
    bare.start_agent(adb_server)
    phones = {d["address"]: d for d in bare.wait_online(2)}
    assert not any(d["is_virtual"] for d in phones.values())
    assert phones[go.address]["abilist"] == ["armeabi-v7a", "armeabi"]
    model = bare.upload(FIXTURE_MODEL)

    # 1. no binary: refused at submit, naming the ABI and the command that fixes it
    resp = bare.http.post("/benchmarks", json={"model": str(model["id"]), "devices": {"all": True}, **QUICK})
    assert resp.status_code == 409, resp.text
    problem = resp.json()
    assert problem["abi"] in ("arm64-v8a", "armeabi-v7a")
    assert f"farm binary fetch --abi {problem['abi']}" in problem["detail"]

    # 2. runs already queued when the binary disappears fail as host_misconfigured, never quarantine
    bins = tmp_path / "bins"
    bins.mkdir()
    (bins / "arm64").write_bytes(fake_elf("arm64-v8a", b"benchmark_model arm64"))
    (bins / "arm32").write_bytes(fake_elf("armeabi-v7a", b"benchmark_model arm"))
    (bins / "script").write_text("#!/system/bin/sh\necho not a binary\n")
    env = dict(bare.env)
    added = farm(env, "binary", "add", str(bins / "arm32"))
    assert added.returncode == 0 and "armeabi-v7a" in added.stdout, added.stdout + added.stderr
    refused = farm(env, "binary", "add", str(bins / "script"))
    assert (
        refused.returncode == 1 and "not an ELF file" in refused.stderr and "Traceback" not in refused.stderr
    )
    mismatch = farm(env, "binary", "add", str(bins / "arm64"), "--abi", "x86")
    assert mismatch.returncode == 1 and "arm64-v8a" in mismatch.stderr  # errors go to stderr
    sha32 = added.stdout.split()[1]
    jobs = []
    for _ in range(6):
        r = bare.http.post(
            "/benchmarks", json={"model": str(model["id"]), "devices": {"serials": [go.address]}, **QUICK}
        )
        assert r.status_code == 202, r.text
        jobs.append(r.json()["id"])
    assert farm(env, "binary", "remove", sha32[:12]).returncode == 0
    bare.start_worker(adb_server)
    for job_id in jobs:
        job = bare.wait_job(job_id, 90)
        (run,) = job["runs"]
        assert run["state"] == "failed" and run["error"].startswith("host_misconfigured"), run
        assert "farm binary fetch --abi armeabi-v7a" in run["error"]
    device = bare.http.get(f"/devices/{phones[go.address]['id']}").json()
    assert device["state"] == "online" and device["consecutive_failures"] == 0

    # 3. with a binary per ABI, each phone runs its own; the old build gets only the flags it knows
    for name in ("arm64", "arm32"):
        out = farm(env, "binary", "add", str(bins / name))
        assert out.returncode == 0, out.stdout + out.stderr
    r = bare.http.post("/benchmarks", json={"model": str(model["id"]), "devices": {"all": True}, **QUICK})
    assert r.status_code == 202, r.text
    job = bare.wait_job(r.json()["id"], 120)
    assert job["state"] == "succeeded", bare.logs()
    by_serial = {phones_by_id(phones)[run["device_id"]]: run for run in job["runs"]}
    arm_run, go_run = by_serial[arm64.address], by_serial[go.address]
    assert arm_run["result"]["env"]["binary"]["abi"] == "arm64-v8a"
    assert go_run["result"]["env"]["binary"]["abi"] == "armeabi-v7a"
    assert "--report_peak_memory_footprint=true" in arm_run["command"]
    assert "report_peak_memory_footprint" not in go_run["command"] and "use_xnnpack" not in go_run["command"]
    assert set(go_run["result"]["env"]["unapplied_settings"]) == {
        "use_xnnpack=false",
        "report_peak_memory_footprint=true",
    }
    assert arm_run["result"]["env"]["unapplied_settings"] == []
    listed = {b["abi"]: b for b in bare.http.get("/binaries").json()}
    assert listed["armeabi-v7a"]["tool_version"].startswith("1.15.0")
    assert "use_xnnpack" not in listed["armeabi-v7a"]["flags"]
    assert "use_xnnpack" in listed["arm64-v8a"]["flags"]
    bare.assert_exactly_once()


def phones_by_id(phones: dict[str, dict]) -> dict[int, str]:
    return {d["id"]: serial for serial, d in phones.items()}
