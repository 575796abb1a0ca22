"""Migration 0007 (users own things, not token names) on a database at 0003 holding rows.

Both backends the farm runs on: Postgres and the embedded SQLite (whose batch mode copies
tables that other rows refer to). Rows are written with the columns of revision 0003, the
way an existing farm holds them; after the upgrade, today's code reads them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.orm import Session

from tests.stack import PG_ADMIN

SECRETS = {1: "pf_first_cli", 2: "pf_second_cli", 3: "pf_alice", 4: "pf_admin"}


@pytest.fixture(params=["postgres", "sqlite"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'farm.db'}"
        return
    name = f"farm_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _filler(column: sa.Column[Any]) -> Any:
    """A value for a NOT NULL column the test does not care about."""
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return 0
    if isinstance(kind, sa.Float):
        return 0.0
    if isinstance(kind, sa.JSON):
        return []
    if isinstance(kind, sa.DateTime):
        return datetime.now(UTC)
    return "x"


def _insert(conn: sa.Connection, meta: sa.MetaData, table: str, **values: Any) -> None:
    t = meta.tables[table]
    row = {c.name: _filler(c) for c in t.columns if not c.nullable and c.name not in values}
    conn.execute(t.insert().values(**row, **values))


def _farm_at_0003(url: str) -> None:
    """Two tokens share the name "cli" (one owner then), alice, an admin; models, jobs, results."""
    from server.auth.service import hash_token
    from server.db import make_engine

    engine = make_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        for token_id, name, role in [
            (1, "cli", "submitter"),
            (2, "cli", "submitter"),
            (3, "alice", "submitter"),
        ]:
            _insert(
                conn,
                meta,
                "api_tokens",
                id=token_id,
                name=name,
                role=role,
                token_hash=hash_token(SECRETS[token_id]),
            )
        _insert(
            conn,
            meta,
            "api_tokens",
            id=4,
            name="admin (farm up)",
            role="admin",
            token_hash=hash_token(SECRETS[4]),
        )
        models = [
            (1, "cli", False, "a"),
            (2, "alice", False, "a"),
            (3, None, True, "b"),
            (4, "ghost", False, "c"),
        ]
        for model_id, owner, public, sha in models:
            _insert(
                conn,
                meta,
                "models",
                id=model_id,
                owner=owner,
                public=public,
                sha256=sha * 64,
                name=f"m{model_id}",
            )
        _insert(conn, meta, "farm_hosts", id=1, name="h")
        _insert(conn, meta, "devices", id=1, host_id=1, serial="s1", state="online")
        for job_id, submitter, public in [(1, "cli", False), (2, "alice", False), (3, None, True)]:
            _insert(
                conn,
                meta,
                "jobs",
                id=job_id,
                model_id=job_id,
                submitter=submitter,
                public=public,
                state="done",
            )
            _insert(
                conn,
                meta,
                "runs",
                id=job_id,
                job_id=job_id,
                device_id=1,
                original_device_id=1,
                delegate="cpu",
            )
            _insert(
                conn,
                meta,
                "results",
                id=job_id,
                run_id=job_id,
                job_id=job_id,
                model_id=job_id,
                device_id=1,
                delegate="cpu",
                avg_us=100.0 * job_id,
            )
    engine.dispose()


def test_a_farm_at_0003_keeps_who_owns_what_when_owners_become_users(empty_url: str) -> None:
    from server.auth.models import ApiToken, User
    from server.auth.service import authenticate
    from server.db import make_engine
    from server.jobs.models import Job
    from server.migrate import alembic_config
    from server.models.models import Model
    from server.models.service import list_models
    from server.results.models import ResultRollup

    command.upgrade(alembic_config(empty_url), "0003")
    _farm_at_0003(empty_url)
    command.upgrade(alembic_config(empty_url), "head")

    engine = make_engine(empty_url)
    with Session(engine) as db:
        users = {u.name: u.id for u in db.scalars(sa.select(User))}
        assert set(users) == {"cli", "alice", "admin (farm up)", "ghost"}  # ghost: an owner without a token
        tokens = {t.id: (t.user_id, t.name) for t in db.scalars(sa.select(ApiToken))}
        assert tokens[1] == (users["cli"], "cli") and tokens[2] == (users["cli"], "cli #2")
        assert tokens[3] == (users["alice"], "alice")
        owners = {m.id: m.owner for m in db.scalars(sa.select(Model))}
        assert owners == {1: "cli", 2: "alice", 3: None, 4: "ghost"}
        assert {j.id: j.submitter for j in db.scalars(sa.select(Job))} == {1: "cli", 2: "alice", 3: None}
        rollups = {(r.model_id, r.submitter_id, r.public, r.n) for r in db.scalars(sa.select(ResultRollup))}
        assert rollups == {(1, users["cli"], False, 1), (2, users["alice"], False, 1), (3, 0, True, 1)}

        first, second, alice = (authenticate(db, SECRETS[i]) for i in (1, 2, 3))
        assert first and second and alice and first.user_id == second.user_id == users["cli"]
        assert {m.id for m in list_models(db, first)} == {m.id for m in list_models(db, second)} == {1, 3}
        assert {m.id for m in list_models(db, alice)} == {2, 3}
    engine.dispose()


def test_the_users_migration_goes_back_to_owner_names(empty_url: str) -> None:
    from server.db import make_engine
    from server.migrate import alembic_config

    command.upgrade(alembic_config(empty_url), "0003")
    _farm_at_0003(empty_url)
    command.upgrade(alembic_config(empty_url), "head")
    command.downgrade(alembic_config(empty_url), "0003")

    engine = make_engine(empty_url)
    with engine.connect() as conn:
        owners: dict[int, str | None] = {
            i: o for i, o in conn.execute(sa.text("SELECT id, owner FROM models"))
        }
        assert owners == {
            1: "cli",
            2: "alice",
            3: None,
            4: "ghost",
        }
        names: dict[int, str] = {i: n for i, n in conn.execute(sa.text("SELECT id, name FROM api_tokens"))}
        assert names[2] == "cli"
        assert set(conn.execute(sa.text("SELECT submitter FROM result_rollups")).scalars()) == {
            "cli",
            "alice",
            "",
        }
    engine.dispose()


def test_the_migrated_schema_is_what_the_models_declare(empty_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from server.all_models import Base
    from server.db import make_engine
    from server.migrate import upgrade

    upgrade(empty_url)
    engine = make_engine(empty_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()
