"""Runs reach the broker only once the request that made them has committed."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import make_token

TINY = (Path(__file__).resolve().parents[1] / "fixtures" / "tiny_segmenter.tflite").read_bytes()


def _phone(api: TestClient, serial: str, agent: dict[str, str], state: str = "online") -> dict:
    from server.binaries.service import ensure_stand_ins
    from server.db import session_scope

    with session_scope() as db:  # a benchmark needs a binary for the phone's ABI
        ensure_stand_ins(db, ["arm64-v8a"])
    body = {
        "serial": serial,
        "state": state,
        "soc_name": "Snapdragon 845",
        "is_virtual": True,
        "abi": "arm64-v8a",
    }
    resp = api.put(f"/api/v1/hosts/hostA/devices/{serial}", json=body, headers=agent)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_submitting_a_benchmark_sends_each_run_to_its_host_after_the_commit(
    api: TestClient, sent: list[tuple[int, str]]
) -> None:
    agent, alice = make_token("agent"), make_token("submitter", "alice")
    _phone(api, "phone-1", agent)
    model = api.post("/api/v1/models", files={"file": ("m.tflite", TINY)}, headers=alice).json()
    body = {"model": str(model["id"]), "devices": {"all": True}, "delegates": ["cpu"], "threads": [1, 4]}
    resp = api.post("/api/v1/benchmarks", json=body, headers=alice)
    assert resp.status_code == 202, resp.text
    job = resp.json()
    run_ids = sorted(r["id"] for r in job["runs"])
    assert sorted(run_id for run_id, _ in sent) == run_ids
    assert {queue for _, queue in sent} == {"host.hostA"}


def test_a_refused_submission_sends_nothing(api: TestClient, sent: list[tuple[int, str]]) -> None:
    alice = make_token("submitter", "alice")
    model = api.post("/api/v1/models", files={"file": ("m.tflite", TINY)}, headers=alice).json()
    body = {"model": str(model["id"]), "devices": {"socs": ["nothing-like-it"]}}
    assert api.post("/api/v1/benchmarks", json=body, headers=alice).status_code == 422
    assert sent == []


def test_a_phone_coming_back_sends_the_runs_that_waited_for_it(
    api: TestClient, sent: list[tuple[int, str]]
) -> None:
    agent, alice = make_token("agent"), make_token("submitter", "alice")
    _phone(api, "phone-1", agent)
    model = api.post("/api/v1/models", files={"file": ("m.tflite", TINY)}, headers=alice).json()
    body = {"model": str(model["id"]), "devices": {"serials": ["phone-1"]}}
    job = api.post("/api/v1/benchmarks", json=body, headers=alice).json()
    sent.clear()
    _phone(api, "phone-1", agent, state="offline")
    assert sent == []
    _phone(api, "phone-1", agent)
    assert [run_id for run_id, _ in sent] == [r["id"] for r in job["runs"]]


def test_each_test_starts_from_an_empty_database(api: TestClient) -> None:
    assert api.get("/api/v1/devices").json() == []
    assert api.get("/api/v1/models", headers=make_token("admin")).json() == []
