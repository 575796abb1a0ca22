"""The Celery app: the broker only carries run ids; no result backend (the database holds state).

acks_late + reject_on_worker_lost: a worker killed mid-run leaves its message to be
redelivered, and `claim` decides whether it still needs running. Prefetch 1 keeps a
busy worker from hoarding messages that another could run.
"""

from __future__ import annotations

from collections.abc import Iterable

from celery import Celery

from contracts.settings import get_settings

TASK_EXECUTE_RUN = "phonefarm.execute_run"


def make_celery() -> Celery:
    settings = get_settings()
    url = settings.celery_broker_url
    if url.startswith("sqla+sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqla+"):
        # same URL, our subclass of kombu's SQLAlchemy transport (see worker/sqlite_broker.py)
        from kombu.transport import TRANSPORT_ALIASES

        TRANSPORT_ALIASES.setdefault("farmsqla", "worker.sqlite_broker:Transport")
        url = "farmsqla+" + url.removeprefix("sqla+")
        transport_options: dict[str, object] = {}
    else:
        transport_options = {"visibility_timeout": 120}
        if settings.broker_prefix:
            transport_options["global_keyprefix"] = settings.broker_prefix
    app = Celery("phonefarm", broker=url, include=["worker.tasks"])
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        result_backend=None,
        task_default_queue="host.default",
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        task_serializer="json",
        accept_content=["json"],
    )
    return app


celery_app = make_celery()


def dispatch(targets: Iterable[tuple[int, str]]) -> None:
    """Send (run id, host queue) pairs; routing by queue keeps a host's runs on that host."""
    for run_id, queue in targets:
        celery_app.send_task(TASK_EXECUTE_RUN, args=[run_id], queue=queue)
