"""Service tests: the server's services and the reconciler against the session's migrated Postgres
database, each test rolled back (tests/database.py), runs sent to a recording sender."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest


@pytest.fixture
def sent() -> Iterator[list[tuple[int, str]]]:
    from server import queue

    out: list[tuple[int, str]] = []

    def record(targets: Sequence[tuple[int, str]]) -> None:
        out.extend(targets)

    queue.configure(record)
    yield out
    queue.configure(None)
