"""Endpoints end their unit of work in their own thread, before FastAPI serializes the reply.

Why: FastAPI runs a sync endpoint in a thread of AnyIO's pool (40 threads), then validates
its return value against the response model in *another* thread of that pool, and only then
exits the request's dependencies (deps.get_db's commit). A request that had updated rows
held their locks, and its pool connection, while it waited for a thread; with 500 phones the
40 threads were all requests blocked on those rows (or waiting for a pool connection), so the
waiting request never got one and the API stood still for good (seen with bench/scale.py:
seven transactions idle for minutes, 23 threads blocked on their locks, 17 waiting for a
connection). Committing where the work was done releases the rows and the connection before
the endpoint gives its thread back; deps.get_db's commit then has nothing left to do, and
its rollback still undoes an endpoint that raised.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy.orm import Session


def commits_in_its_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """`endpoint`, committing each Session it was given once it returns (not when it raises)."""

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        result = endpoint(*args, **kwargs)
        for value in (*args, *kwargs.values()):
            if isinstance(value, Session) and value.in_transaction():
                value.commit()
        return result

    return run


class UnitOfWorkRoute(APIRoute):
    """An APIRoute whose sync endpoint commits in its own thread (see the module's docstring)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = commits_in_its_thread(endpoint)
        super().__init__(path, endpoint, **kwargs)
