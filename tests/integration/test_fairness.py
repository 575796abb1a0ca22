"""Fair turns end to end: a real Celery worker on a real broker (Redis delivers a host's messages in
submission order) and virtual phones. One user's flood cannot make another user's run wait for it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.integration.conftest import FIXTURE_MODEL
from tests.stack import AdbServer, FarmStack

pytestmark = pytest.mark.integration
QUICK = {
    "devices": {"all": True},
    "delegates": ["cpu"],
    "num_runs": 3,
    "warmup_runs": 0,
    "min_secs": 0.0,
    "warmup_min_secs": 0.0,
    "trials": 1,
    "cooldown_s": 0,
    "thermal_limit_c": None,
    "screen_off": False,
}


def as_user(stack: FarmStack, name: str) -> httpx.Client:
    from contracts.vocabulary import Role
    from server.auth.service import create_token
    from server.db import session_scope

    with session_scope() as db:
        token = create_token(db, name, Role.submitter)
    return httpx.Client(
        base_url=str(stack.http.base_url), headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_a_second_users_job_is_served_before_a_flooding_users_backlog(
    prod: FarmStack, adb_server: AdbServer, fleet: Any
) -> None:
    for profile in ("sdm845", "msm8953"):
        adb_server.connect(fleet.add(profile).address)
    prod.start_api()
    prod.start_worker(adb_server, concurrency=4)  # more worker processes than phones: messages race
    prod.start_agent(adb_server)
    prod.wait_online(2)
    model = str(prod.upload(FIXTURE_MODEL)["id"])
    alice, bob = as_user(prod, "alice"), as_user(prod, "bob")

    flood = []  # 3 jobs x 4 settings x 2 phones: 12 runs a phone, sent before bob's
    for _ in range(3):
        resp = alice.post("/benchmarks", json=QUICK | {"model": model, "threads": [1, 2, 3, 4]})
        assert resp.status_code == 202, resp.text
        flood.append(resp.json()["id"])
    prod.wait_run_state(flood[0], "succeeded", timeout=120)  # the flood is being worked through
    resp = bob.post("/benchmarks", json=QUICK | {"model": model, "threads": [1]})
    assert resp.status_code == 202, resp.text
    bobs = prod.wait_job(resp.json()["id"], timeout=300)
    assert bobs["state"] == "succeeded", prod.logs()
    for job_id in flood:
        assert prod.wait_job(job_id, timeout=300)["state"] == "succeeded", prod.logs()

    floods = [r for job_id in flood for r in prod.http.get(f"/benchmarks/{job_id}").json()["runs"]]
    submitted = _at(bobs["created_at"])
    for run in bobs["runs"]:  # on each phone: at most the one run that took it as bob submitted
        phone = [r for r in floods if r["device_id"] == run["device_id"]]
        ahead = [r for r in phone if submitted < _at(r["started_at"]) < _at(run["started_at"])]
        behind = [r for r in phone if _at(r["started_at"]) > _at(run["started_at"])]
        print(f"phone {run['device_id']}: {len(ahead)} flood run(s) started after bob submitted, before his")
        assert len(ahead) <= 1, (run, ahead)
        assert behind, "the flood was over before bob's run: the test proved nothing"
    prod.assert_exactly_once()  # every run once, one final state, one result each
