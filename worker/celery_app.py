"""The worker's Celery app: the broker contract of contracts/broker.py plus the worker's tasks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from celery.signals import worker_init

from contracts.broker import TASK_EXECUTE_RUN, make_celery, send_runs
from contracts.settings import get_settings

__all__ = ["TASK_EXECUTE_RUN", "celery_app", "dispatch"]

celery_app = make_celery(include=["worker.tasks"])


def dispatch(targets: Iterable[tuple[int, str]]) -> None:
    """Send (run id, host queue) pairs; routing by queue keeps a host's runs on that host."""
    send_runs(celery_app, list(targets))


@worker_init.connect
def _sweep_scratch(**_: Any) -> None:
    """A worker killed mid-trial leaves its run's scratch directory; the next start removes it
    once it is older than any run can last (twice the run timeout)."""
    from worker.numerics_trial import sweep_stale_scratch

    sweep_stale_scratch(2 * get_settings().run_timeout_s)
