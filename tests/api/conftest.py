"""The API in-process (TestClient) against a real, freshly migrated Postgres database and Redis broker."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.stack import PG_ADMIN


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    name = f"farm_api_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    monkeypatch.setenv("FARM_DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    monkeypatch.setenv("FARM_BROKER_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setenv("FARM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FARM_MAX_UPLOAD_MB", "1")
    from server.db import reset_caches
    from server.migrate import upgrade

    reset_caches()
    upgrade()
    from server.main import create_app

    with TestClient(create_app(reconcile=False), raise_server_exceptions=False) as client:
        yield client
    reset_caches()
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    os.environ.pop("FARM_TOKEN", None)


def make_token(role: str, name: str | None = None) -> dict[str, str]:
    from contracts.vocabulary import Role
    from server.auth.service import create_token
    from server.db import session_scope

    with session_scope() as db:
        token = create_token(db, name or f"{role}-user", Role(role))
    return {"Authorization": f"Bearer {token}"}
