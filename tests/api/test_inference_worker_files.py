"""A farm host's worker gets an inference's input and returns its output through the API only,
and only for runs on its own host's phones."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import make_token
from tests.api.test_hosts_identity import host_token, report
from tests.api.test_inference_input import TINY, _model, png, submit


def _inference_run(api: TestClient) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    a, b = host_token("labA"), host_token("labB")
    assert api.put("/api/v1/hosts/labA/devices/X", json=report("X"), headers=a).status_code == 200
    h = make_token("submitter")
    resp = submit(api, h, png(), _model(api, h, TINY))
    assert resp.status_code == 202, resp.text
    run_id = api.get(f"/api/v1/benchmarks/{resp.json()['job_id']}", headers=h).json()["runs"][0]["id"]
    claimed = api.post(f"/api/v1/runs/{run_id}/claim", json={"worker": "w"}, headers=a).json()
    assert claimed["outcome"] == "claimed", claimed
    return claimed["claim"], a, b


def test_an_inference_run_fetches_its_input_by_sha256_and_uploads_its_output(api: TestClient) -> None:
    claim, a, b = _inference_run(api)
    task = claim["spec"]["inference"]
    assert claim["spec"]["kind"] == "inference" and "input_path" not in task  # no server path reaches a host
    path = f"/api/v1/inferences/{task['id']}/input"
    assert api.get(path, headers=b).status_code == 403  # another host's token
    data = api.get(path, headers=a).content
    assert hashlib.sha256(data).hexdigest() == task["input_sha256"] and len(data) == task["input_size"]

    key = {"attempt": str(claim["attempt"]), "device_id": str(claim["device_id"])}
    url = f"/api/v1/runs/{claim['run_id']}/inference-output"
    right = b"\0" * task["output_bytes"]
    assert api.post(url, data=key, files={"file": ("o", right)}, headers=b).status_code == 403
    short = api.post(url, data=key, files={"file": ("o", right[:-1])}, headers=a)
    assert short.status_code == 422 and "declares" in short.json()["detail"]
    ok = api.post(url, data=key | {"inference_us": "1234.5"}, files={"file": ("o", right)}, headers=a)
    assert ok.status_code == 200 and ok.json() == {"stored": True}
    again = api.post(url, data=key, files={"file": ("o", right)}, headers=a)
    assert again.json() == {"stored": False}  # a retried upload stores nothing twice
    cancel = api.post(f"/api/v1/benchmarks/{claim['job_id']}/cancel", headers=make_token("admin"))
    assert cancel.status_code == 200, cancel.text
    gone = api.get(path, headers=a)  # every run is over: the host has no more need of the input
    assert gone.status_code == 403 and "queued or running run" in gone.json()["detail"]


def test_a_benchmark_request_cannot_pose_as_an_inference(api: TestClient) -> None:
    h = make_token("submitter")
    body = {"model": _model(api, h, TINY), "devices": {"all": True}, "kind": "inference"}
    resp = api.post("/api/v1/benchmarks", json=body, headers=h)
    assert resp.status_code == 422 and "POST /inferences" in resp.text
