"""/metrics serves counters the run transitions keep in their own transactions (server/counters.py):
the numbers follow every transition, a scrape never reads `runs` or `results`, and nothing in
it names a job, a model or a user."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Connection, event

from tests.api.conftest import make_token
from tests.api.test_hosts_identity import host_token, report

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_segmenter.tflite"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def phone(api: TestClient) -> dict[str, str]:
    """Host labA's agent token, with one online arm64 phone and a benchmark_model for it."""
    from contracts.elf import fake_elf

    agent = host_token("labA")
    body = report("X") | {"abi": "arm64-v8a", "abilist": ["arm64-v8a"]}
    assert api.put("/api/v1/hosts/labA/devices/X", json=body, headers=agent).status_code == 200
    files = {"file": ("bm", fake_elf("arm64-v8a"))}
    assert api.post("/api/v1/binaries", headers=make_token("admin"), files=files).status_code in (200, 201)
    return agent


def scrape(api: TestClient) -> tuple[str, Samples]:
    from server import metrics

    metrics._cache.clear()  # the short render cache would hide the transition just made
    text = api.get("/metrics", headers=make_token("admin", "scraper")).text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _model(
    api: TestClient, h: dict[str, str], name: str = "tiny.tflite", public: bool = True
) -> dict[str, Any]:
    with FIXTURE.open("rb") as fh:
        resp = api.post(
            "/api/v1/models", files={"file": (name, fh)}, data={"public": str(public).lower()}, headers=h
        )
    assert resp.status_code in (200, 201), resp.text
    return dict(resp.json())


def submit(
    api: TestClient, h: dict[str, str], model: str, threads: list[int], public: bool = True
) -> dict[str, Any]:
    body = {
        "model": model,
        "devices": {"all": True},
        "delegates": ["cpu"],
        "threads": threads,
        "public": public,
    }
    resp = api.post("/api/v1/benchmarks", json=body, headers=h)
    assert resp.status_code == 202, resp.text
    return dict(api.get(f"/api/v1/benchmarks/{resp.json()['id']}", headers=h).json())


def claim(api: TestClient, agent: dict[str, str], run_id: int) -> dict[str, Any]:
    reply = api.post(f"/api/v1/runs/{run_id}/claim", json={"worker": "w"}, headers=agent).json()
    assert reply["outcome"] == "claimed", reply
    return dict(reply["claim"])


def key(c: dict[str, Any]) -> dict[str, Any]:
    return {"run_id": c["run_id"], "attempt": c["attempt"], "device_id": c["device_id"]}


def complete(api: TestClient, agent: dict[str, str], c: dict[str, Any]) -> None:
    body = key(c) | {"result": {"avg_us": 1000.0}, "raw_output": "ok", "command": "benchmark_model"}
    assert api.post(f"/api/v1/runs/{c['run_id']}/complete", json=body, headers=agent).json() == {
        "stored": True
    }


def fail(api: TestClient, agent: dict[str, str], c: dict[str, Any], device_lost: bool = False) -> None:
    body = key(c) | {"error": "Segmentation fault", "device_lost": device_lost}
    assert api.post(f"/api/v1/runs/{c['run_id']}/fail", json=body, headers=agent).status_code == 200


def test_counters_move_with_submit_claim_succeed_fail_requeue_and_cancel(api: TestClient) -> None:
    from server import counters
    from server.db import session_scope

    agent = phone(api)
    alice = make_token("submitter", "alice")
    job = submit(api, alice, str(_model(api, alice)["id"]), [1, 2, 4])
    one, two, three = (r["id"] for r in job["runs"])
    _, s = scrape(api)
    assert value(s, "phonefarm_runs_submitted_total") == 3
    assert value(s, "phonefarm_runs", state="queued") == 3
    assert value(s, "phonefarm_queue_depth", queue="host.labA") == 3

    first = claim(api, agent, one)
    _, s = scrape(api)
    assert value(s, "phonefarm_runs_started_total") == 1
    assert (value(s, "phonefarm_runs", state="queued"), value(s, "phonefarm_runs", state="running")) == (2, 1)

    complete(api, agent, first)
    _, s = scrape(api)
    assert value(s, "phonefarm_runs_finished_total", state="succeeded", blame="") == 1
    assert value(s, "phonefarm_results_total") == 1
    assert value(s, "phonefarm_run_duration_seconds_count") == 1
    assert value(s, "phonefarm_run_duration_seconds_bucket", le="+Inf") == 1
    assert value(s, "phonefarm_runs", state="running") == 0

    lost = claim(api, agent, two)
    fail(api, agent, lost, device_lost=True)  # the phone went away: back in the queue, not final
    _, s = scrape(api)
    assert value(s, "phonefarm_runs_requeued_total") == 1
    assert value(s, "phonefarm_runs", state="queued") == 2
    assert value(s, "phonefarm_queue_depth", queue="host.labA") == 2  # waiting for the phone
    phone(api)  # and back

    crashed = claim(api, agent, two)
    fail(api, agent, crashed)
    _, s = scrape(api)
    assert value(s, "phonefarm_runs_started_total") == 3
    assert value(s, "phonefarm_runs_finished_total", state="failed", blame="phone") == 1
    assert (value(s, "phonefarm_runs", state="queued"), value(s, "phonefarm_runs", state="running")) == (1, 0)

    claim(api, agent, three)
    assert api.post(f"/api/v1/benchmarks/{job['id']}/cancel", headers=alice).status_code == 200
    _, s = scrape(api)
    assert value(s, "phonefarm_runs_finished_total", state="cancelled", blame="") == 1
    assert value(s, "phonefarm_runs", state="cancelled") == 1
    assert sum(value(s, "phonefarm_runs", state=st) for st in ("queued", "running")) == 0
    assert value(s, "phonefarm_results_total") == 1

    with session_scope() as db:  # what the transitions kept is what the rows say
        kept = {(n, tuple(sorted(labels.items()))): v for n, labels, v in counters.read(db) if v}
        counters.rebuild(db.connection())
        rebuilt = {(n, tuple(sorted(labels.items()))): v for n, labels, v in counters.read(db) if v}
        db.rollback()
    assert kept == rebuilt


@pytest.fixture
def statements(db_connection: Connection) -> Iterator[list[str]]:
    """Every SQL statement the code under test sends on the test's connection."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(db_connection, "before_cursor_execute", record)
    yield seen
    event.remove(db_connection, "before_cursor_execute", record)


def test_a_scrape_reads_counters_and_phones_never_runs_or_results(
    api: TestClient, statements: list[str]
) -> None:
    agent = phone(api)
    alice = make_token("submitter", "alice")
    job = submit(api, alice, str(_model(api, alice)["id"]), [1, 2])
    complete(api, agent, claim(api, agent, job["runs"][0]["id"]))
    headers = make_token("admin", "scraper")
    from server import metrics

    metrics._cache.clear()
    statements.clear()
    assert api.get("/metrics", headers=headers).status_code == 200
    scraped = [s for s in statements if "api_tokens" not in s]  # the token check
    assert any("farm_counters" in s for s in scraped), statements
    assert not [s for s in scraped if re.search(r"\b(runs|results|result_rollups|jobs)\b", s)], scraped


def test_private_work_is_only_counted_never_named(api: TestClient) -> None:
    agent = phone(api)
    carol = make_token("submitter", "carol-the-secretive")
    model = _model(api, carol, "project-nightingale.tflite", public=False)
    job = submit(api, carol, str(model["id"]), [1, 2], public=False)
    complete(api, agent, claim(api, agent, job["runs"][0]["id"]))
    text, s = scrape(api)
    assert value(s, "phonefarm_runs_submitted_total") == 2 and value(s, "phonefarm_results_total") == 1
    for secret in ("carol", "nightingale", model["sha256"], model["sha256"][:12]):
        assert secret not in text
