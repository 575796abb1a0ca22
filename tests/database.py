"""One migrated Postgres database per test session, each test inside a transaction that is rolled back.

Creating and migrating a database costs about a second; doing it once per session (per
xdist worker) instead of once per test is what keeps the fast tier fast. Every test gets
one connection with an open transaction; every session the code under test opens
(requests, `session_scope`) joins it through a SAVEPOINT, so the code's own commits and
rollbacks behave as usual while nothing outlives the test (polar's
server/tests/fixtures/database.py does the same).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.stack import PG_ADMIN


@pytest.fixture(scope="session")
def migrated_database() -> Iterator[tuple[str, Engine]]:
    """A fresh database, migrated to head, and an engine on it; dropped when the session ends."""
    from server.db import make_engine, reset_caches
    from server.migrate import upgrade

    name = f"farm_fast_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    engine = make_engine(url)
    try:
        upgrade(url)
        yield url, engine
    finally:
        engine.dispose()
        reset_caches()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class _Pinned:
    """Stands in for server.db.get_sessionmaker: the test's factory, kept across reset_caches()."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def __call__(self) -> sessionmaker[Session]:
        return self.factory

    def cache_clear(self) -> None:
        pass


@pytest.fixture
def db_connection(
    migrated_database: tuple[str, Engine], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Connection]:
    """The test's connection: everything the code under test writes is rolled back afterwards."""
    import server.db

    url, engine = migrated_database
    monkeypatch.setenv("FARM_DATABASE_URL", url)
    server.db.reset_caches()
    with engine.connect() as conn:
        outer = conn.begin()
        factory = sessionmaker(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        monkeypatch.setattr(server.db, "get_sessionmaker", _Pinned(factory))
        try:
            yield conn
        finally:
            outer.rollback()


@pytest.fixture
def db(db_connection: Connection) -> Iterator[Session]:
    """A session for service tests, in the test's rolled-back transaction."""
    with Session(bind=db_connection, join_transaction_mode="create_savepoint", expire_on_commit=False) as s:
        yield s


@pytest.fixture
def own_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh migrated database of the test's own, for tests whose requests run at the same time
    (one rolled-back connection cannot serve concurrent transactions); dropped afterwards."""
    from server.db import reset_caches
    from server.migrate import upgrade

    name = f"farm_api_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    monkeypatch.setenv("FARM_DATABASE_URL", url)
    reset_caches()
    upgrade(url)
    try:
        yield url
    finally:
        reset_caches()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
