"""Roles and visibility: tokens decide who may write, and private work stays private."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import make_token

TINY = (Path(__file__).resolve().parents[1] / "fixtures" / "tiny_segmenter.tflite").read_bytes()


def test_writes_need_a_token_with_the_right_role(api: TestClient) -> None:
    files = {"file": ("m.tflite", TINY)}
    resp = api.post("/api/v1/models", files=files)
    assert resp.status_code == 401 and "farm token create" in resp.json()["detail"]
    resp = api.post("/api/v1/models", files=files, headers={"Authorization": "Bearer pf_wrong"})
    assert resp.status_code == 401
    resp = api.post("/api/v1/models", files=files, headers=make_token("viewer"))
    assert resp.status_code == 403 and "submitter" in resp.json()["detail"]
    assert api.post("/api/v1/models", files=files, headers=make_token("submitter")).status_code == 201
    assert api.post("/api/v1/devices/1/disable", headers=make_token("submitter")).status_code == 403
    assert api.post("/api/v1/devices/1/disable", headers=make_token("admin")).status_code == 404


def test_private_models_are_seen_by_owner_and_admins_only(api: TestClient) -> None:
    alice, bob = make_token("submitter", "alice"), make_token("submitter", "bob")
    resp = api.post(
        "/api/v1/models", files={"file": ("m.tflite", TINY)}, data={"public": "false"}, headers=alice
    )
    model_id = resp.json()["id"]
    assert [m["id"] for m in api.get("/api/v1/models", headers=alice).json()] == [model_id]
    assert api.get("/api/v1/models", headers=bob).json() == []
    assert api.get(f"/api/v1/models/{model_id}", headers=bob).status_code == 404
    assert api.get(f"/api/v1/models/{model_id}").status_code == 404  # anonymous read sees public only
    assert api.get(f"/api/v1/models/{model_id}", headers=make_token("admin")).status_code == 200


def test_tokens_are_stored_hashed(api: TestClient) -> None:
    headers = make_token("viewer")
    secret = headers["Authorization"].split()[1]
    from sqlalchemy import select

    from server.auth.models import ApiToken
    from server.db import session_scope

    with session_scope() as db:
        stored = [t.token_hash for t in db.scalars(select(ApiToken))]
    assert secret not in stored and all(len(h) == 64 for h in stored)


def test_health_and_readiness(api: TestClient) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    assert api.get("/api/v1/readyz").status_code == 200
    assert api.get("/metrics").status_code == 401  # metrics count private work: token only
    metrics = api.get("/metrics", headers=make_token("admin", "scraper")).text
    assert "phonefarm_runs" in metrics and "phonefarm_devices" in metrics


def test_revoked_token_is_refused_at_once(api: TestClient) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    headers = make_token("submitter", "leaving")
    assert api.post("/api/v1/models", files={"file": ("m.tflite", TINY)}, headers=headers).status_code == 201
    runner = CliRunner()
    listing = runner.invoke(app, ["token", "list"], env={"COLUMNS": "200"})
    assert listing.exit_code == 0 and "leaving" in listing.output
    token_id = next(line.split()[1] for line in listing.output.splitlines() if "leaving" in line)
    assert runner.invoke(app, ["token", "revoke", token_id]).exit_code == 0
    resp = api.get("/api/v1/models", headers=headers)
    assert resp.status_code == 401 and "revoked" in resp.json()["detail"]
    assert runner.invoke(app, ["token", "revoke", "99999"]).exit_code == 1
