"""FastAPI dependencies: a database session per request and the caller's role."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from sqlalchemy.orm import Session

from contracts.settings import get_settings
from contracts.vocabulary import Role
from server import db as database
from server.api.errors import ProblemError
from server.api.guard import PRINCIPAL_STATE
from server.auth.service import Principal, authenticate

ANONYMOUS = Principal("anonymous", Role.viewer)
NEEDS_TOKEN = ProblemError(
    401,
    "Unauthorized",
    "This endpoint needs an API token: send 'Authorization: Bearer <token>' "
    "(create one with 'farm token create --role submitter').",
)


_ENDINGS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="commit")
"""Threads that end requests' transactions, apart from the pool the endpoints run in.

Why: a sync dependency's teardown (the commit) waits for a free thread of the endpoints' pool
(40). With 500 phones, one agent heartbeat updated its 100 phones' rows and then waited for
a thread to commit, while all 40 were endpoints blocked on those very rows (workers'
heartbeats and claims): the API stood still until the pool's 30 s checkout timeout broke it.
A commit (or rollback) never waits behind the endpoints it would unblock. Endpoints commit
in their own thread first (server/api/routing.py), so this one is mostly a no-op; the
rollback of an endpoint that raised is not.
"""


def _end(session: Session, ok: bool) -> None:
    try:
        if ok:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


async def get_db() -> AsyncIterator[Session]:
    """The request's unit of work: one commit when the endpoint returns, a rollback if it raises.

    Services flush but do not commit; runs they enqueue leave after this commit (server/queue.py).
    The session is made on the event loop (no I/O) and ended on `_ENDINGS`.
    """
    session = database.get_sessionmaker()()  # looked up on the module: tests pin it
    loop = asyncio.get_running_loop()
    try:
        yield session
    except BaseException:
        await loop.run_in_executor(_ENDINGS, _end, session, False)
        raise
    await loop.run_in_executor(_ENDINGS, _end, session, True)


# "function" scope: commit before the response leaves, so a client that got 201 can use what it made
DB = Annotated[Session, Depends(get_db, scope="function")]


def get_principal(
    db: DB,
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer API token")] = None,
) -> Principal:
    if not authorization and get_settings().public_read:
        return ANONYMOUS
    if not authorization or not authorization.lower().startswith("bearer "):
        raise NEEDS_TOKEN
    checked = request.scope.get("state", {}).get(PRINCIPAL_STATE)
    if checked is not None and checked[0] == authorization:  # the guard looked it up for this request
        return checked[1]
    principal = authenticate(db, authorization[7:].strip())
    db.commit()  # end the read: no connection held while the endpoint waits for a thread (api/routing.py)
    if principal is None:
        raise ProblemError(401, "Unauthorized", "The API token is unknown or revoked.")
    return principal


def require(role: Role) -> Callable[[Principal], Principal]:
    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal is ANONYMOUS and role != Role.viewer:
            raise NEEDS_TOKEN
        if not principal.at_least(role):
            raise ProblemError(
                403,
                "Forbidden",
                f"This action needs the '{role.value}' role; your token has '{principal.role}'.",
            )
        return principal

    return check


Viewer = Annotated[Principal, Depends(require(Role.viewer))]
Submitter = Annotated[Principal, Depends(require(Role.submitter))]
Admin = Annotated[Principal, Depends(require(Role.admin))]
Agent = Annotated[Principal, Depends(require(Role.agent))]


def check_host(principal: Principal, host: str) -> None:
    """403 unless the caller may speak for `host` (a host-bound agent token speaks only for its own)."""
    if not principal.speaks_for(host):
        raise ProblemError(
            403,
            "Forbidden",
            f"This agent token is bound to host {principal.host!r} and cannot act for host {host!r}; "
            f"use that host's own token (farm token create --role agent --host {host}).",
        )


MAX_ID = 2**31 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="Database id")]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
TextQuery = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")]
SerialPath = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^\x00/]+$")]
NamePath = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^\x00/]+$")]
