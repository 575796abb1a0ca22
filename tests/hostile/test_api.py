"""Abusive users and hostile agents against the API in-process, on a real Postgres database.

Each test reproduces an attack from issue 13 and asserts the farm's answer: a 4xx with a
clear message, nothing leaked, nothing stored that should not be.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import make_token

TINY = (Path(__file__).resolve().parents[1] / "fixtures" / "tiny_segmenter.tflite").read_bytes()
QUICK = {"trials": 1, "min_secs": 0.0, "warmup_min_secs": 0.0, "num_runs": 1, "cooldown_s": 0}


def _phone(api: TestClient, serial: str = "phone-1", **props: object) -> dict:
    agent = make_token("agent", "agent-host")
    resp = api.put(
        f"/api/v1/hosts/hostA/devices/{serial}",
        headers=agent,
        json={"serial": serial, "state": "online", "soc_name": "Snapdragon 845", "abi": "arm64-v8a", **props},
    )
    assert resp.status_code == 200, resp.text
    from server.binaries.service import ensure_stand_ins
    from server.db import session_scope

    with session_scope() as db:  # a benchmark binary for the phone's ABI, as `farm up` registers
        ensure_stand_ins(db, ["arm64-v8a"])
    return dict(resp.json())


def _upload(api: TestClient, headers: dict[str, str], name: str = "m.tflite", **form: str):
    return api.post("/api/v1/models", headers=headers, files={"file": (name, TINY)}, data=form)


def test_a_spec_that_cannot_finish_within_the_run_timeout_is_refused_naming_both_numbers(
    api: TestClient,
) -> None:
    h = make_token("submitter")
    model = _upload(api, h).json()
    body = {"model": str(model["id"]), "devices": {"all": True}, "min_secs": 600, "max_secs": 3600}
    resp = api.post("/api/v1/benchmarks", headers=h, json=body)
    assert resp.status_code == 422, resp.text
    detail = resp.json()["detail"]
    assert "600.5" in detail and "FARM_RUN_TIMEOUT_S=600" in detail


def test_a_submitter_over_the_queued_run_limit_is_answered_429(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contracts.settings import get_settings

    monkeypatch.setenv("FARM_MAX_QUEUED_RUNS_PER_USER", "4")
    get_settings.cache_clear()
    _phone(api)
    h = make_token("submitter", "greedy")
    model = _upload(api, h).json()
    body = {"model": str(model["id"]), "devices": {"all": True}, **QUICK, "threads": [1, 2, 3]}
    assert api.post("/api/v1/benchmarks", headers=h, json=body).status_code == 202
    resp = api.post("/api/v1/benchmarks", headers=h, json=body)
    assert resp.status_code == 429 and "FARM_MAX_QUEUED_RUNS_PER_USER" in resp.json()["detail"]
    other = make_token("submitter", "patient")
    assert api.post("/api/v1/benchmarks", headers=other, json={**body, "threads": [1]}).status_code == 202


def test_a_write_without_a_valid_token_is_refused_before_its_body_is_read(api: TestClient) -> None:
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(400):  # 400 MB if it were all read
            sent += 1
            yield b"x" * (1 << 20)

    for headers in ({}, {"Authorization": "Bearer pf_unknown"}):
        sent = 0
        resp = api.post(
            "/api/v1/benchmarks", headers={**headers, "Content-Type": "application/json"}, content=body()
        )
        assert resp.status_code == 401, resp.text
        assert sent <= 2  # the client's first chunk at most, never the body


def test_a_chunked_body_over_the_limit_is_refused_with_413(api: TestClient) -> None:
    """(TestClient reads the whole body first; tests/hostile/test_server.py checks the streaming.)"""
    h = make_token("submitter")

    def body() -> Iterator[bytes]:
        for _ in range(8):
            yield b" " * (256 << 10)

    resp = api.post("/api/v1/benchmarks", headers={**h, "Content-Type": "application/json"}, content=body())
    assert resp.status_code == 413 and "MiB" in resp.json()["detail"]


def test_pages_and_answers_carry_security_headers(api: TestClient) -> None:
    for path in ("/", "/api/v1/models", "/healthz"):
        resp = api.get(path)
        assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
        assert resp.headers["x-frame-options"] == "DENY"
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["referrer-policy"] == "no-referrer"


def test_the_same_bytes_from_another_user_make_their_own_model_and_leak_nothing(api: TestClient) -> None:
    alice, bob = make_token("submitter", "alice"), make_token("submitter", "bob")
    private = _upload(api, alice, "secret-net.tflite", public="false")
    assert private.status_code == 201
    mine = _upload(api, bob, "bobs.tflite")
    assert mine.status_code == 201, mine.text
    body = mine.json()
    assert body["id"] != private.json()["id"] and body["owner"] == "bob" and body["name"] == "bobs.tflite"
    assert body["sha256"] == private.json()["sha256"]  # one stored file
    assert [m["name"] for m in api.get("/api/v1/models", headers=bob).json()] == ["bobs.tflite"]
    again = _upload(api, bob, "bobs-again.tflite")
    assert again.status_code == 200 and again.json()["id"] == body["id"]


def _token_named(name: str, user: str) -> dict[str, str]:
    from contracts.vocabulary import Role
    from server.auth.service import create_token
    from server.db import session_scope

    with session_scope() as db:
        return {"Authorization": "Bearer " + create_token(db, name, Role.submitter, user=user)}


def test_two_tokens_with_the_same_name_for_different_users_do_not_share_private_models(
    api: TestClient,
) -> None:
    alice, bob = _token_named("cli", "alice"), _token_named("cli", "bob")
    private = _upload(api, alice, "secret-net.tflite", public="false").json()
    assert private["owner"] == "alice"
    body = {"model": "secret-net.tflite", "devices": {"all": True}, **QUICK}
    assert api.get("/api/v1/models", headers=bob).json() == []
    assert api.get(f"/api/v1/models/{private['id']}", headers=bob).status_code == 404
    assert api.post("/api/v1/benchmarks", headers=bob, json=body).status_code == 422  # no such model for bob
    _phone(api)
    job = api.post("/api/v1/benchmarks", headers=alice, json=body)
    assert job.status_code == 202 and job.json()["submitter"] == "alice"
    assert api.get(f"/api/v1/benchmarks/{job.json()['id']}", headers=bob).status_code == 404
    assert api.get("/api/v1/benchmarks", headers=bob).json() == []
    assert api.post(f"/api/v1/benchmarks/{job.json()['id']}/cancel", headers=bob).status_code == 404
    # bob's own upload of the same bytes is his record, resolved first by its name
    mine = _upload(api, bob, "secret-net.tflite", public="false").json()
    assert mine["id"] != private["id"] and mine["owner"] == "bob"


@pytest.mark.own_database  # concurrent requests need concurrent transactions
def test_concurrent_uploads_of_the_same_bytes_never_answer_500(api: TestClient) -> None:
    h = make_token("submitter", "eager")
    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(lambda _: _upload(api, h).status_code, range(12)))
    assert set(codes) <= {200, 201} and codes.count(201) == 1, codes


def test_only_admins_publish_zoo_names(api: TestClient) -> None:
    resp = _upload(api, make_token("submitter", "mallory"), zoo_name="enet_256_fp16")
    assert resp.status_code == 403 and "admins" in resp.json()["detail"]
    admin = make_token("admin", "root")
    assert _upload(api, admin, zoo_name="enet_256_fp16").status_code == 201
    taken = api.post(
        "/api/v1/models",
        headers=admin,
        files={"file": ("x.tflite", TINY + b"\0")},
        data={"zoo_name": "enet_256_fp16"},
    )
    assert taken.status_code in (409, 422)


def test_a_model_name_resolves_to_the_callers_own_then_the_zoo_and_409_when_ambiguous(
    api: TestClient,
) -> None:
    _phone(api)
    admin = make_token("admin", "root")
    zoo = _upload(api, admin, "zoo.tflite", zoo_name="enet_256_fp16").json()
    mallory = make_token("submitter", "mallory")
    # the hijack: an upload named like the zoo model (other bytes, so another record)
    api.post("/api/v1/models", headers=mallory, files={"file": ("enet_256_fp16", TINY + b"\0" * 8)})
    victim = make_token("submitter", "victim")
    job = api.post(
        "/api/v1/benchmarks",
        headers=victim,
        json={"model": "enet_256_fp16", "devices": {"all": True}, **QUICK},
    )
    assert job.status_code == 202, job.text
    assert job.json()["model_id"] == zoo["id"]
    for who in ("eve", "trent"):
        api.post(
            "/api/v1/models",
            headers=make_token("submitter", who),
            files={"file": ("shared-name", TINY + who.encode() * 8)},
        )
    amb = api.post(
        "/api/v1/benchmarks", headers=victim, json={"model": "shared-name", "devices": {"all": True}, **QUICK}
    )
    assert amb.status_code == 409 and len(amb.json()["candidates"]) == 2


def test_a_job_of_a_private_model_is_private_unless_the_owner_says_otherwise(api: TestClient) -> None:
    _phone(api)
    alice = make_token("submitter", "alice")
    model = _upload(api, alice, "secret.tflite", public="false").json()
    body = {"model": str(model["id"]), "devices": {"all": True}, **QUICK}
    job = api.post("/api/v1/benchmarks", headers=alice, json=body).json()
    assert job["public"] is False
    assert api.get(f"/api/v1/benchmarks/{job['id']}").status_code == 404
    assert all(j["id"] != job["id"] for j in api.get("/api/v1/benchmarks").json())
    shown = api.post("/api/v1/benchmarks", headers=alice, json={**body, "public": True}).json()
    assert shown["public"] is True


def test_hostile_phone_properties_are_bounded_and_the_phone_still_registers(api: TestClient) -> None:
    for serial, props in (
        ("p-sdk-huge", {"sdk": "99999999999999999999"}),
        ("p-sdk-float", {"sdk": 3e9}),
        ("p-long-maker", {"manufacturer": "M" * 65, "gpu": "G" * 10_000}),
        ("p-freqs", {"cpu_max_freqs_khz": [2**40] * 10 + [2_800_000]}),
    ):
        device = _phone(api, serial, **props)
        assert device["serial"] == serial
    devices = {d["serial"]: d for d in api.get("/api/v1/devices").json()}
    assert len(devices) == 4


def test_a_runs_output_is_kept_head_and_tail_and_served_on_its_own_endpoint(api: TestClient) -> None:
    from contracts.output import KEEP_BYTES
    from server.db import session_scope
    from server.jobs import lifecycle

    _phone(api)
    h = make_token("submitter")
    model = _upload(api, h).json()
    job = api.post(
        "/api/v1/benchmarks", headers=h, json={"model": str(model["id"]), "devices": {"all": True}, **QUICK}
    )
    run_id = job.json()["runs"][0]["id"]
    with session_scope() as db:
        claim = lifecycle.claim(db, run_id, "test-worker").claim
    assert claim is not None
    huge = "first line\n" + "z" * (8 * KEEP_BYTES) + "\nlast line"
    with session_scope() as db:
        lifecycle.fail(db, claim, "crash: Segmentation fault", huge, "cmd", device_lost=False)
    view = api.get(f"/api/v1/benchmarks/{job.json()['id']}").json()
    (run,) = view["runs"]
    assert run["raw_output"] is None and run["output_bytes"] == len(huge)
    text = api.get(f"/api/v1/benchmarks/{job.json()['id']}/runs/{run_id}/output").text
    assert text.startswith("first line") and text.endswith("last line") and len(text) < 2 * KEEP_BYTES + 200
    page = api.get(f"/jobs/{job.json()['id']}").text  # the job page shows only the end, cut in the database
    assert "last line" in page and "first line" not in page and len(page) < 100_000


def _finish(run_id: int, avg_us: float | None) -> None:
    """Take a run through the real lifecycle: claimed, then a result (or a failure)."""
    from contracts.runs import ResultRecord
    from server.db import session_scope
    from server.jobs import lifecycle

    with session_scope() as db:
        claim = lifecycle.claim(db, run_id, "test-worker").claim
    assert claim is not None
    with session_scope() as db:
        if avg_us is None:
            lifecycle.fail(db, claim, "crash: Segmentation fault", "", "cmd", device_lost=False)
        else:
            fields = ResultRecord(
                avg_us=avg_us, median_us=avg_us, ci95_low_us=avg_us * 0.99, ci95_high_us=avg_us * 1.01
            )
            lifecycle.complete(db, claim, fields, "Inference timings in us: Inference (avg): 1", "cmd")


def test_results_csv_never_starts_a_cell_with_a_formula(api: TestClient) -> None:
    _phone(api, "=HYPERLINK(1)", model="=cmd|' /C calc'!A0")
    h = make_token("submitter")
    model = _upload(api, h).json()
    job = api.post(
        "/api/v1/benchmarks", headers=h, json={"model": str(model["id"]), "devices": {"all": True}, **QUICK}
    )
    _finish(job.json()["runs"][0]["id"], 1000.0)
    text = api.get("/api/v1/results", headers={**h, "Accept": "text/csv"}).text
    cells = [c for line in text.splitlines()[1:] for c in line.split(",")]
    assert cells and not any(c.lstrip('"').startswith(("=", "+", "@")) for c in cells), text
    assert "'=" in text or "'+" in text


def test_the_regression_gate_fails_with_exit_2_when_anything_was_not_compared(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import cli.client
    import cli.main

    _phone(api, "p1")
    _phone(api, "p2", soc_name="Snapdragon 625")
    h = make_token("submitter", "ci")
    model = _upload(api, h).json()
    body = {"model": str(model["id"]), "devices": {"all": True}, **QUICK}
    a = api.post("/api/v1/benchmarks", headers=h, json=body).json()
    b = api.post("/api/v1/benchmarks", headers=h, json=body).json()
    for run in a["runs"]:
        _finish(run["id"], 1000.0)
    _finish(b["runs"][0]["id"], 1000.0)
    _finish(b["runs"][1]["id"], None)  # the candidate failed on the second phone

    import httpx

    from phonefarm import Farm

    def in_process_farm() -> Farm:  # the CLI's SDK client, its requests answered by the app in-process
        f = Farm(url="http://testserver", token=h["Authorization"][7:])
        f.http = httpx.Client(transport=api._transport, base_url="http://testserver/api/v1", headers=h)
        return f

    monkeypatch.setattr(cli.client, "farm", in_process_farm)
    runner = CliRunner()
    args = ["compare", str(a["id"]), str(b["id"]), "--fail-on-regression", "5%"]
    gate = runner.invoke(cli.main.app, args, env={"COLUMNS": "200"})
    assert gate.exit_code == 2, gate.output
    assert "not compared" in gate.output and "failed" in gate.output
    allowed = runner.invoke(cli.main.app, [*args, "--allow-missing"], env={"COLUMNS": "200"})
    assert allowed.exit_code == 0, allowed.output


def test_a_second_users_one_run_does_not_wait_behind_the_first_users_queue(api: TestClient) -> None:
    from server.db import session_scope
    from server.devices.models import Device
    from server.jobs import lifecycle

    _phone(api)
    # greedy submits from two tokens (laptop and CI): still one user, one turn of the round robin
    greedy = [make_token("submitter", "greedy"), make_token("submitter", "greedy")]
    modest = make_token("submitter", "modest")
    model = _upload(api, greedy[0]).json()
    many = {"model": str(model["id"]), "devices": {"all": True}, **QUICK}
    many |= {"threads": list(range(1, 9)), "delegates": ["cpu", "xnnpack", "gpu", "nnapi"]}
    for i in range(3):
        assert api.post("/api/v1/benchmarks", headers=greedy[i % 2], json=many).status_code == 202
    one = api.post("/api/v1/benchmarks", headers=modest, json={**many, "threads": [1], "delegates": ["cpu"]})
    wanted = one.json()["runs"][0]["id"]
    order = []
    with session_scope() as db:
        device_id = db.query(Device.id).scalar()
    for _ in range(3):
        with session_scope() as db:
            run_id = lifecycle.next_run(db, device_id)
        assert run_id is not None
        order.append(run_id)
        _finish(run_id, 1000.0)
    assert wanted in order[:2], order  # served second, not after 96 runs
