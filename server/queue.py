"""The server's one way to send runs to workers: collected during a unit of work, sent after commit.

A message for a run that is not committed yet could reach a worker before the row exists
(or for a row that a rollback then removes), so nothing is sent directly. Code inside a
unit of work calls `enqueue(db, targets)`; the targets wait on the session and leave
when the session's transaction commits. A rollback drops them. This is polar's job-queue
pattern with SQLAlchemy session events in place of a context variable: whoever commits
(the request dependency, the reconciler's tick) sends, and no service has to remember to.

The sender is a port: the application registers one at start (`configure`), by default
the Celery sender that sends the task by name (contracts/broker.py), so no server module
imports the worker. Tests register a recording sender.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger("phonefarm.queue")

Target = tuple[int, str]
"""(run id, host queue): a run to execute and the queue of the host whose phone runs it."""

Sender = Callable[[Sequence[Target]], None]

_PENDING = "phonefarm.queue.pending"


@lru_cache
def broker_app() -> Celery:
    """A Celery app that only sends (it registers no tasks), built on first use."""
    from contracts.broker import make_celery

    return make_celery()


class CelerySender:
    """Sends run ids to the broker by task name (contracts.broker.TASK_EXECUTE_RUN)."""

    def __call__(self, targets: Sequence[Target]) -> None:
        from contracts.broker import send_runs

        send_runs(broker_app(), targets)


_sender: Sender | None = None


def configure(sender: Sender | None) -> None:
    """Register how runs are sent (at application start); None forgets the sender."""
    global _sender
    _sender = sender


def sender() -> Sender:
    """The registered sender, or the Celery sender for processes that registered none."""
    global _sender
    if _sender is None:
        _sender = CelerySender()
    return _sender


def enqueue(db: Session, targets: Iterable[Target]) -> None:
    """Send `targets` once `db`'s transaction commits (never if it rolls back)."""
    pending: list[Target] = db.info.setdefault(_PENDING, [])
    pending.extend(targets)


def pending(db: Session) -> list[Target]:
    """What `db` will send at its next commit."""
    return list(db.info.get(_PENDING, []))


@event.listens_for(Session, "after_commit")
def _send_after_commit(db: Session) -> None:
    targets: list[Target] = db.info.pop(_PENDING, [])
    if not targets:
        return
    try:
        sender()(targets)
    except Exception:  # committed runs stay queued: the reconciler sends them again
        log.warning(
            "sending runs %s failed; the reconciler will retry", [t[0] for t in targets], exc_info=True
        )


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(db: Session, *_: Any) -> None:
    db.info.pop(_PENDING, None)
