"""Celery tasks: thin, idempotent, keyed by the run's id. All logic lives in worker.runner."""

from __future__ import annotations

from celery import Task

from worker.celery_app import TASK_EXECUTE_RUN, celery_app
from worker.runner import execute


@celery_app.task(name=TASK_EXECUTE_RUN, bind=True, acks_late=True, max_retries=None)
def execute_run(self: Task, run_id: int) -> str:
    outcome = execute(run_id)
    if outcome.retry:
        raise self.retry(countdown=0.5)
    return outcome.state
