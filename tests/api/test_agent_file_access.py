"""A host-bound agent token reads only the files its own phones' queued or running runs need."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient

from tests.api.conftest import make_token
from tests.api.test_hosts_identity import host_token, report
from tests.api.test_inference_input import TINY


def unbound_agent_token() -> dict[str, str]:
    from contracts.vocabulary import Role
    from server.auth.service import create_token
    from server.db import session_scope

    with session_scope() as db:
        token = create_token(db, "agent of the embedded farm", Role.agent)
    return {"Authorization": f"Bearer {token}"}


def test_an_agent_token_cannot_download_a_private_model_its_host_has_no_run_for(api: TestClient) -> None:
    from contracts.elf import fake_elf

    a, b = host_token("labA"), host_token("labB")
    arm64 = {"abi": "arm64-v8a", "abilist": ["arm64-v8a"]}
    phone_a = api.put("/api/v1/hosts/labA/devices/A1", json=report("A1", "HW-A") | arm64, headers=a).json()
    api.put("/api/v1/hosts/labB/devices/B1", json=report("B1", "HW-B"), headers=b)
    admin = make_token("admin")
    api.post("/api/v1/binaries", files={"file": ("bm", fake_elf("arm64-v8a"))}, headers=admin)
    owner = make_token("submitter", "alice")
    model = api.post(
        "/api/v1/models", files={"file": ("m.tflite", TINY)}, data={"public": "false"}, headers=owner
    ).json()
    url = f"/api/v1/models/{model['id']}/file"

    refused = api.get(url, headers=a)  # no run of this model anywhere yet
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    detail = refused.json()["detail"]
    assert (
        "'labA'" in detail and "queued or running run" in detail and "admin or unbound agent token" in detail
    )

    job = api.post(
        "/api/v1/benchmarks",
        json={"model": model["id"], "devices": {"ids": [phone_a["id"]]}, "public": False},
        headers=owner,
    )
    assert job.status_code == 202, job.text
    served = api.get(url, headers=a)  # labA's phone has a queued run of it
    assert served.status_code == 200 and hashlib.sha256(served.content).hexdigest() == model["sha256"]
    assert api.get(url, headers=b).status_code == 403  # labB's phones have none
    assert api.get(url, headers=unbound_agent_token()).status_code == 200
    assert api.get(url, headers=admin).status_code == 200

    assert api.post(f"/api/v1/benchmarks/{job.json()['id']}/cancel", headers=owner).status_code == 200
    assert api.get(url, headers=a).status_code == 403  # the run is over: nothing of labA's needs it

    public = api.post(
        "/api/v1/models", files={"file": ("p.tflite", TINY + b"\0")}, data={"public": "true"}, headers=owner
    ).json()
    assert api.get(f"/api/v1/models/{public['id']}/file", headers=b).status_code == 200
