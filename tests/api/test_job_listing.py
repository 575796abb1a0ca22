"""The job list: full (every run) by default, progress counts only when asked (a big farm's jobs)."""

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
