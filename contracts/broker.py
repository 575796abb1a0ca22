"""The broker contract between the API (which sends runs) and the workers (which execute them).

The broker only carries run ids, by task name, routed to a host's queue; the database is
the truth. Both sides build their Celery app here, so the server can send a task by name
without importing the worker (see server/queue.py), and the worker adds its tasks to it.

acks_late + reject_on_worker_lost: a worker killed mid-run leaves its message to be
redelivered, and `claim` decides whether it still needs running. Prefetch 1 keeps a
busy worker from hoarding messages that another could run.
"""

from __future__ import annotations

from collections.abc import Sequence

from celery import Celery
from kombu.transport.sqlalchemy import Transport as SQLAlchemyTransport

from contracts.settings import Settings, get_settings

TASK_EXECUTE_RUN = "phonefarm.execute_run"
"""The one task: execute the run whose id is the only argument."""

DEFAULT_QUEUE = "host.default"


class PolledSQLAlchemyTransport(SQLAlchemyTransport):
    """The embedded farm's broker: kombu's SQLAlchemy transport, polled often.

    kombu hands every transport option to `create_engine`, so `polling_interval` cannot go
    through `broker_transport_options`; a subclass sets it instead. 0.1 s keeps the wait for
    a queued run far below a benchmark's own duration.
    """

    polling_interval = 0.1


def is_embedded(settings: Settings) -> bool:
    """The SQLite broker file in the data dir (no FARM_BROKER_URL): `farm up`'s farm on one machine."""
    return settings.celery_broker_url.startswith("sqla+sqlite")


def describe(settings: Settings) -> str:
    """The configured broker in words, password masked: what a check says it looked at."""
    from kombu.utils.url import maybe_sanitize_url

    url = settings.celery_broker_url
    if is_embedded(settings):
        return f"the embedded SQLite broker {url.removeprefix('sqla+sqlite:///')}"
    masked = maybe_sanitize_url(url)
    if url.startswith(("redis://", "rediss://")):
        prefix = f" (keys prefixed {settings.broker_prefix!r})" if settings.broker_prefix else ""
        return f"the Redis broker {masked}{prefix}"
    return f"the broker {masked}"


def waiting(app: Celery, queue: str, timeout: float = 3.0) -> int:
    """Runs sent to `queue` that no worker has taken yet; raises when the broker cannot be reached."""
    from kombu.exceptions import ChannelError

    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)
        try:
            return int(conn.default_channel.queue_declare(queue, passive=True).message_count)
        except ChannelError:  # nothing was ever sent there
            return 0


def make_celery(include: Sequence[str] = (), settings: Settings | None = None) -> Celery:
    """A Celery app for the configured broker; `include` names task modules (the worker's)."""
    settings = settings or get_settings()
    url = settings.celery_broker_url
    if url.startswith("sqla+sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqla+"):
        from kombu.transport import TRANSPORT_ALIASES

        TRANSPORT_ALIASES.setdefault("farmsqla", "contracts.broker:PolledSQLAlchemyTransport")
        url = "farmsqla+" + url.removeprefix("sqla+")
        transport_options: dict[str, object] = {}
    else:
        transport_options = {"visibility_timeout": 120}
        if settings.broker_prefix:
            transport_options["global_keyprefix"] = settings.broker_prefix
    app = Celery("phonefarm", broker=url, include=list(include))
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        result_backend=None,
        task_default_queue=DEFAULT_QUEUE,
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        task_serializer="json",
        accept_content=["json"],
    )
    return app


def send_runs(app: Celery, targets: Sequence[tuple[int, str]]) -> None:
    """Send (run id, host queue) pairs; routing by queue keeps a host's runs on that host."""
    for run_id, queue in targets:
        app.send_task(TASK_EXECUTE_RUN, args=[run_id], queue=queue)
