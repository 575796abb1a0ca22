"""Users own the work, tokens are their keys: names unique per user, shared within a user.

The REST endpoint, the CLI (`farm token create/list`) and the bootstrap tokens of `farm up`,
against the test's rolled-back Postgres database.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.api.conftest import make_token

TINY = (Path(__file__).resolve().parents[1] / "fixtures" / "tiny_segmenter.tflite").read_bytes()


def _create(api: TestClient, admin: dict[str, str], **body: str):
    return api.post("/api/v1/tokens", headers=admin, json={"role": "submitter", **body})


def test_a_token_name_is_unique_per_user(api: TestClient) -> None:
    admin = make_token("admin")
    first = _create(api, admin, name="laptop", user="alice")
    assert first.status_code == 201, first.text
    assert first.json()["user"] == "alice" and first.json()["token"].startswith("pf_")
    again = _create(api, admin, name="laptop", user="alice")
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    assert "already has a token named laptop" in again.json()["detail"]
    assert _create(api, admin, name="laptop", user="bob").status_code == 201  # another user's "laptop"
    listed = {(t["user"], t["name"]) for t in api.get("/api/v1/tokens", headers=admin).json()}
    assert {("alice", "laptop"), ("bob", "laptop")} <= listed
    assert "token" not in api.get("/api/v1/tokens", headers=admin).json()[0]  # secrets are never listed


def test_a_new_token_named_after_an_existing_user_is_refused_unless_the_user_is_named(
    api: TestClient,
) -> None:
    admin = make_token("admin")
    assert _create(api, admin, name="alice").status_code == 201  # a new user named after the token
    taken = _create(api, admin, name="alice")
    assert taken.status_code == 409
    assert taken.json()["detail"] == "user alice exists; pass --user alice to give them another token"
    assert _create(api, admin, name="ci", user="alice").json()["user"] == "alice"
    assert _create(api, make_token("submitter"), name="x").status_code == 403  # admins only


def test_two_tokens_of_one_user_share_their_models_and_benchmarks(api: TestClient) -> None:
    admin = make_token("admin")
    laptop, ci = (
        {"Authorization": "Bearer " + _create(api, admin, name=n, user="alice").json()["token"]}
        for n in ("laptop", "ci")
    )
    model = api.post(
        "/api/v1/models", headers=laptop, files={"file": ("net.tflite", TINY)}, data={"public": "false"}
    ).json()
    assert model["owner"] == "alice"
    assert [m["id"] for m in api.get("/api/v1/models", headers=ci).json()] == [model["id"]]
    again = api.post("/api/v1/models", headers=ci, files={"file": ("other.tflite", TINY)})
    assert (
        again.status_code == 200 and again.json()["id"] == model["id"]
    )  # the user's own copy, not a new one
    stranger = make_token("submitter", "mallory")
    assert api.get(f"/api/v1/models/{model['id']}", headers=stranger).status_code == 404


def test_farm_token_create_refuses_a_name_that_is_already_a_user_and_lists_users(api: TestClient) -> None:
    from cli.main import app

    runner = CliRunner()
    created = runner.invoke(app, ["token", "create", "--role", "submitter", "--name", "carol"])
    assert created.exit_code == 0 and created.output.strip().startswith("pf_"), created.output
    refused = runner.invoke(
        app, ["token", "create", "--role", "submitter", "--name", "carol"], env={"COLUMNS": "200"}
    )
    assert refused.exit_code == 1
    assert "user carol exists; pass --user carol to give them another token" in refused.output
    same = runner.invoke(
        app,
        ["token", "create", "--role", "submitter", "--name", "carol", "--user", "carol"],
        env={"COLUMNS": "200"},
    )
    assert same.exit_code == 1 and "already has a token named carol" in same.output
    other = runner.invoke(app, ["token", "create", "--role", "viewer", "--name", "ci", "--user", "carol"])
    assert other.exit_code == 0, other.output
    listing = runner.invoke(app, ["token", "list"], env={"COLUMNS": "200"})
    rows = [line.split("│") for line in listing.output.splitlines() if "carol" in line]
    assert sorted((r[2].strip(), r[3].strip()) for r in rows) == [("carol", "carol"), ("carol", "ci")]


def test_farm_ups_bootstrap_tokens_are_reused_on_restart_and_replaced_when_lost(api: TestClient) -> None:
    from cli.up import bootstrap_agent_token, bootstrap_token
    from contracts.settings import get_settings
    from server.auth.service import authenticate
    from server.db import session_scope

    first, agent = bootstrap_token(), bootstrap_agent_token("hostA")
    assert bootstrap_token() == first and bootstrap_agent_token("hostA") == agent
    (get_settings().data_dir / "admin.token").unlink()
    (get_settings().data_dir / "agent-hostA.token").unlink()
    again, agent_again = bootstrap_token(), bootstrap_agent_token("hostA")
    assert again != first and agent_again != agent
    with session_scope() as db:
        old, new = authenticate(db, first), authenticate(db, again)
        assert old and new and old.user_id == new.user_id and new.name == "admin (farm up)"
        a, b = authenticate(db, agent), authenticate(db, agent_again)
        assert a and b and a.user_id == b.user_id and b.host == "hostA"
