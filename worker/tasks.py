"""Celery tasks: thin, idempotent, keyed by the run's id. All logic lives in worker.runner.

No retries: a run whose phone is busy is acknowledged, and the worker holding the phone
takes it when it drains the phone's queue (see worker.runner.execute).
"""

from __future__ import annotations

from worker.celery_app import TASK_EXECUTE_RUN, celery_app
from worker.runner import execute


@celery_app.task(name=TASK_EXECUTE_RUN, acks_late=True)
def execute_run(run_id: int) -> str:
    return execute(run_id).state
