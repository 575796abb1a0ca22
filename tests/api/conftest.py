"""The API in-process (TestClient) against the session's migrated Postgres database (tests/database.py).

Each test runs in a transaction that is rolled back, and runs are sent to a recording
sender (`sent`) instead of the broker: what the API enqueues is checked, not Celery.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def sent() -> list[tuple[int, str]]:
    """The (run id, host queue) pairs the API sent after its commits, in order."""
    return []


@pytest.fixture
def api(
    request: pytest.FixtureRequest,
    sent: list[tuple[int, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TestClient]:
    """The app on the rolled-back test connection, or on its own database for tests marked own_database."""
    if request.node.get_closest_marker("own_database"):
        request.getfixturevalue("own_database")
    else:
        request.getfixturevalue("db_connection")
    monkeypatch.setenv("FARM_BROKER_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setenv("FARM_BROKER_PREFIX", f"farm_api_{id(sent)}:")
    monkeypatch.setenv("FARM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FARM_MAX_UPLOAD_MB", "1")
    monkeypatch.delenv("FARM_TOKEN", raising=False)
    from contracts.settings import get_settings
    from server import queue
    from server.main import create_app

    get_settings.cache_clear()

    def record(targets: Sequence[tuple[int, str]]) -> None:
        sent.extend(targets)

    with TestClient(create_app(reconcile=False, sender=record), raise_server_exceptions=False) as client:
        yield client
    queue.configure(None)
    get_settings.cache_clear()


def make_token(role: str, user: str | None = None) -> dict[str, str]:
    """Headers with a new token of `user` (default: one user per role); the same user twice is
    one person's two tokens, sharing their work."""
    from contracts.vocabulary import Role
    from server.auth.service import create_token, free_token_name
    from server.db import session_scope

    user = user or f"{role}-user"
    with session_scope() as db:
        token = create_token(db, free_token_name(db, user, user), Role(role), user=user)
    return {"Authorization": f"Bearer {token}"}
