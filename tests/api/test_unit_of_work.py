"""A request's writes are committed in the endpoint's own thread, before its reply is serialized.

Why it matters: FastAPI validates a sync endpoint's reply in a second thread of AnyIO's pool and
exits the request's dependencies (the old commit) after that; a request holding row locks while
waiting for a thread deadlocked the API at 500 phones (server/api/routing.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.api.conftest import make_token
from tests.api.test_hosts_identity import host_token, report

pytestmark = pytest.mark.fast


@pytest.fixture
def commits() -> Iterator[list[tuple[str, bool]]]:
    """(thread name, whether the transaction wrote anything) for each commit of an API session."""
    seen: list[tuple[str, bool]] = []

    def flushed(session: Session, _ctx: object) -> None:
        session.info["wrote"] = True

    def committed(session: Session) -> None:
        seen.append((threading.current_thread().name, bool(session.info.pop("wrote", False))))

    event.listen(Session, "after_flush", flushed)
    event.listen(Session, "after_commit", committed)
    yield seen
    event.remove(Session, "after_flush", flushed)
    event.remove(Session, "after_commit", committed)


def test_a_write_is_committed_in_the_endpoints_thread_not_after_the_reply_is_built(
    api: TestClient, commits: list[tuple[str, bool]]
) -> None:
    phone = api.put("/api/v1/hosts/labA/devices/HW1", json=report("HW1", "HW1"), headers=host_token("labA"))
    assert phone.status_code == 200, phone.text
    admin = make_token("admin")
    commits.clear()
    resp = api.post(f"/api/v1/devices/{phone.json()['id']}/disable", headers=admin)
    assert resp.status_code == 200 and resp.json()["state"] == "disabled", resp.text
    writes = [name for name, wrote in commits if wrote]
    assert writes, commits
    # AnyIO's worker threads run endpoints; deps.get_db's late commit would run on a "commit_" thread
    assert all(name.startswith("AnyIO worker thread") for name in writes), commits


def test_an_endpoint_that_raises_commits_nothing(api: TestClient, commits: list[tuple[str, bool]]) -> None:
    admin = make_token("admin")
    commits.clear()
    resp = api.post("/api/v1/tokens", json={"role": "no-such-role"}, headers=admin)
    assert resp.status_code == 422
    assert not [c for c in commits if c[1]], commits
