"""The job list (full, or progress counts only for a big farm), and whose claims a run answers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import make_token
from tests.api.test_queue_after_commit import TINY, _phone


def test_a_list_without_runs_counts_each_jobs_progress_like_the_full_list(
    api: TestClient, sent: list[tuple[int, str]]
) -> None:
    agent, alice = make_token("agent"), make_token("submitter", "alice")
    _phone(api, "phone-1", agent)
    _phone(api, "phone-2", agent)
    model = api.post("/api/v1/models", files={"file": ("m.tflite", TINY)}, headers=alice).json()
    for threads in ([1], [1, 4]):
        body = {"model": str(model["id"]), "devices": {"all": True}, "delegates": ["cpu"], "threads": threads}
        assert api.post("/api/v1/benchmarks", json=body, headers=alice).status_code == 202
    full = api.get("/api/v1/benchmarks", headers=alice).json()
    light = api.get("/api/v1/benchmarks", params={"runs": "false"}, headers=alice).json()
    assert [j["id"] for j in light] == [j["id"] for j in full]
    assert [j["progress"] for j in light] == [j["progress"] for j in full]
    assert [j["progress"]["total"] for j in light] == [4, 2]
    assert all(j["runs"] == [] for j in light) and all(j["runs"] for j in full)


def test_a_worker_of_another_host_is_told_elsewhere_and_the_run_stays_queued(
    api: TestClient, sent: list[tuple[int, str]]
) -> None:
    agent, alice = make_token("agent"), make_token("submitter", "alice")  # unbound: speaks for every host
    phone = _phone(api, "phone-1", agent)
    model = api.post("/api/v1/models", files={"file": ("m.tflite", TINY)}, headers=alice).json()
    body = {"model": str(model["id"]), "devices": {"all": True}, "delegates": ["cpu"], "threads": [1]}
    (run,) = api.post("/api/v1/benchmarks", json=body, headers=alice).json()["runs"]
    stale = {"worker": "w@hostB", "host": "hostB"}
    assert (
        api.post(f"/api/v1/runs/{run['id']}/claim", json=stale, headers=agent).json()["outcome"]
        == "elsewhere"
    )
    nxt = api.post(f"/api/v1/devices/{phone['id']}/claim-next", json=stale, headers=agent).json()
    assert nxt["outcome"] == "elsewhere"
    own = {"worker": "w@hostA", "host": "hostA"}
    assert api.post(f"/api/v1/runs/{run['id']}/claim", json=own, headers=agent).json()["outcome"] == "claimed"
