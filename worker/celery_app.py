"""The worker's Celery app: the broker contract of contracts/broker.py plus the worker's tasks."""

from __future__ import annotations

from collections.abc import Iterable

from contracts.broker import TASK_EXECUTE_RUN, make_celery, send_runs

__all__ = ["TASK_EXECUTE_RUN", "celery_app", "dispatch"]

celery_app = make_celery(include=["worker.tasks"])


def dispatch(targets: Iterable[tuple[int, str]]) -> None:
    """Send (run id, host queue) pairs; routing by queue keeps a host's runs on that host."""
    send_runs(celery_app, list(targets))
