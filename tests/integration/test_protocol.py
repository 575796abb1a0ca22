"""The measurement protocol on virtual phones: thermal gate, instability flags, noise-aware compare."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from tests.integration.conftest import FIXTURE_MODEL
from tests.stack import ROOT, AdbServer, FarmStack

pytestmark = pytest.mark.integration
BASE = {
    "num_runs": 20,
    "min_secs": 0.2,
    "warmup_min_secs": 0.05,
    "cooldown_s": 0,
    "screen_off": True,
    "threads": [1],
    "delegates": ["cpu"],
}


def farm(stack: FarmStack, adb: AdbServer, fleet, profile: str, **opts: object):
    phone = fleet.add(profile, **opts)
    adb.connect(phone.address)
    stack.start_api()
    stack.start_agent(adb)
    stack.start_worker(adb)
    stack.wait_online(1)
    return phone, stack.upload(FIXTURE_MODEL)


def run_job(stack: FarmStack, model: dict, **spec: object) -> dict:
    resp = stack.http.post(
        "/benchmarks", json={"model": str(model["id"]), "devices": {"all": True}, **(BASE | spec)}
    )
    assert resp.status_code == 202, resp.text
    job = stack.wait_job(resp.json()["id"], 180)
    assert job["state"] == "succeeded", stack.logs()
    return job


def test_hot_phone_delays_the_trial_until_it_cools(prod: FarmStack, adb_server: AdbServer, fleet) -> None:
    phone, model = farm(prod, adb_server, fleet, "sdm845")
    thermal = phone.device.thermal
    # The phone's time stands still until the farm first reads its temperature, then runs at
    # the real pace: however slow a loaded machine is to start the run, the phone is still
    # hot when the worker looks, and cooling below the limit then takes ~7 s of real time.
    real_clock, frozen = thermal.clock, thermal.clock()
    started: list[float] = []

    def clock() -> float:
        if not started:
            started.append(real_clock())
            return frozen
        return frozen + real_clock() - started[0]

    ambient = thermal.die_c()
    thermal.clock = clock
    phone.faults.tau_heat_s = 4.0
    heat_c = phone.device.profile.thermal.heat_per_inference_mc / 1000.0
    thermal.add_load(math.ceil(30.0 / heat_c))  # +30 °C on the die
    started.clear()  # add_load read the clock: the phone's time starts at the farm's first look
    limit = ambient + 5.0
    job = run_job(prod, model, trials=1, thermal_limit_c=limit)
    result = job["runs"][0]["result"]
    (gate,) = result["env"]["gates"]
    assert gate["waited_s"] >= 1.0 and gate["temp_c"] < limit and not gate["timed_out"]
    assert result["temp_before_c"] > limit  # it was hot when the run began


def test_scattered_trials_are_flagged_unstable(prod: FarmStack, adb_server: AdbServer, fleet) -> None:
    # sim timing: "steady" is steady whatever the shared host is doing
    phone, model = farm(prod, adb_server, fleet, "msm8953", timing_mode="sim")
    steady = run_job(prod, model, trials=3)["runs"][0]["result"]
    phone.faults.trial_slowdowns = [1.0, 1.6, 1.0]
    jittery = run_job(prod, model, trials=3)["runs"][0]["result"]
    assert jittery["unstable"] and "trials disagree" in jittery["unstable_reason"]
    assert len(jittery["env"]["trials"]) == 3
    assert jittery["ci95_high_us"] - jittery["ci95_low_us"] > steady["ci95_high_us"] - steady["ci95_low_us"]


def test_compare_detects_an_injected_regression_but_not_a_rerun(
    prod: FarmStack, adb_server: AdbServer, fleet
) -> None:
    # sim timing: the phone's time does not depend on this (shared, loaded) host, so 3 % shows
    phone, model = farm(prod, adb_server, fleet, "exynos7420", timing_mode="sim")
    spec = {"trials": 5, "min_secs": 0.3}
    a = run_job(prod, model, **spec)["id"]
    b = run_job(prod, model, **spec)["id"]
    phone.faults.slowdown = 1.03
    c = run_job(prod, model, **spec)["id"]

    def compare(x: int, y: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli.main", "compare", str(x), str(y), "--fail-on-regression", "1%"],
            env=prod.env | {"COLUMNS": "200"},  # wide enough that no verdict is cut to "slo…"
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    rerun = compare(a, b)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "no regression" in rerun.stdout
    regressed = compare(a, c)
    assert regressed.returncode == 1, regressed.stdout + regressed.stderr
    assert "1 regression(s) beyond 1%" in regressed.stdout
    api = prod.http.get("/compare", params={"a": a, "b": c}).json()
    (pair,) = api["pairs"]
    assert pair["verdict"] == "slower" and 1.02 < pair["ratio"] < 1.04
    assert pair["detectable_pct"] is not None and pair["detectable_pct"] < 3
    page = prod.http.get(f"{prod.env['FARM_API_URL']}/compare/jobs", params={"a": a, "b": c})
    assert page.status_code == 200 and "<strong>slower</strong>" in page.text


def test_a_sustained_job_on_a_sim_phone_throttles_and_charts_it(
    prod: FarmStack, adb_server: AdbServer, fleet
) -> None:
    phone, model = farm(prod, adb_server, fleet, "sdm845", timing_mode="sim")
    phone.faults.tau_heat_s = 3.0  # the die heats in seconds instead of a minute
    job = run_job(
        prod, model, trials=1, threads=[4], thermal_limit_c=None, sustained_s=20, sustained_segment_s=2.0
    )
    sustained = job["runs"][0]["result"]["env"]["sustained"]
    assert len(sustained["samples"]) >= 4, sustained
    assert sustained["ratio"] > 1.1 and sustained["time_to_plus10_s"] is not None, sustained
    temps = [s["temp_c"] for s in sustained["samples"]]
    assert max(temps) > temps[0]
    page = prod.http.get(f"{prod.env['FARM_API_URL']}/jobs/{job['id']}")
    assert page.status_code == 200 and "Sustained run" in page.text


def test_adaptive_precision_adds_trials_until_the_target(
    prod: FarmStack, adb_server: AdbServer, fleet
) -> None:
    _phone, model = farm(prod, adb_server, fleet, "exynos7420", timing_mode="sim")
    result = run_job(prod, model, trials=2, target_ci_pct=1.0, max_trials=12, min_secs=0.2)["runs"][0][
        "result"
    ]
    precision = result["env"]["precision"]
    assert 3 <= result["trials"] <= 12 and precision["trials"] == result["trials"]
    assert result["ci_half_pct"] is not None and result["detectable_pct"] > result["ci_half_pct"]
    if "target reached" in precision["stopped"]:
        assert result["ci_half_pct"] <= 1.0
