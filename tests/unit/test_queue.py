"""The queue port: runs collected during a unit of work leave only when it commits."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from server import queue


@pytest.fixture
def sent() -> Iterator[list[tuple[int, str]]]:
    out: list[tuple[int, str]] = []

    def record(targets: Sequence[tuple[int, str]]) -> None:
        out.extend(targets)

    queue.configure(record)
    yield out
    queue.configure(None)


@pytest.fixture
def db() -> Iterator[Session]:
    with Session(create_engine("sqlite://")) as session:
        yield session


def test_enqueued_runs_are_sent_after_the_commit(sent, db) -> None:
    db.execute(text("SELECT 1"))
    queue.enqueue(db, [(1, "host.a"), (2, "host.b")])
    assert sent == []
    db.commit()
    assert sent == [(1, "host.a"), (2, "host.b")]


def test_a_commit_with_no_transaction_begun_still_sends(sent, db) -> None:
    queue.enqueue(db, [(3, "host.a")])
    db.commit()
    assert sent == [(3, "host.a")]


def test_a_rollback_drops_what_was_enqueued(sent, db) -> None:
    db.execute(text("SELECT 1"))
    queue.enqueue(db, [(1, "host.a")])
    db.rollback()
    db.commit()
    assert sent == []


def test_each_run_is_sent_once_even_over_several_commits(sent, db) -> None:
    queue.enqueue(db, [(1, "host.a")])
    db.commit()
    db.commit()
    assert sent == [(1, "host.a")]


def test_a_failing_sender_does_not_undo_the_commit(db) -> None:
    def broken(_: Sequence[tuple[int, str]]) -> None:
        raise ConnectionError("broker down")

    queue.configure(broken)
    try:
        queue.enqueue(db, [(1, "host.a")])
        db.commit()  # no exception: the reconciler sends committed queued runs again
        assert queue.pending(db) == []
    finally:
        queue.configure(None)
