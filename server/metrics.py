"""Prometheus metrics read from the database, at most once per CACHE_S.

The database is the source of truth, so the numbers are the same whichever API replica
is scraped, and no worker needs its own metrics endpoint. The rendered text is cached, so
a scraper (or anyone hammering /metrics) costs one set of aggregate queries per CACHE_S,
not one per request; the endpoint needs a token (server/main.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, case, func, select

from contracts.settings import get_settings
from contracts.vocabulary import RunState
from server.db import session_scope
from server.devices.models import Device, FarmHost
from server.jobs.models import Run

BUCKETS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600]


class FarmCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        with session_scope() as db:
            runs = GaugeMetricFamily("phonefarm_runs", "Runs by state", labels=["state"])
            counts = dict(db.execute(select(Run.state, func.count()).group_by(Run.state)).all())
            for state in RunState:
                runs.add_metric([state.value], counts.get(state.value, 0))
            yield runs

            depth = GaugeMetricFamily("phonefarm_queue_depth", "Queued runs per host queue", labels=["queue"])
            for queue, n in db.execute(
                select(FarmHost.queue, func.count(Run.id))
                .select_from(Run)
                .join(Device, Device.id == Run.device_id)
                .join(FarmHost, FarmHost.id == Device.host_id)
                .where(Run.state == RunState.queued)
                .group_by(FarmHost.queue)
            ):
                depth.add_metric([queue], n)
            yield depth

            phones = GaugeMetricFamily("phonefarm_devices", "Phones by state", labels=["state"])
            states: dict[str, int] = {}
            for device in db.scalars(select(Device)):
                key = device.effective_state.value
                states[key] = states.get(key, 0) + 1
            for name, n in sorted(states.items()):
                phones.add_metric([name], n)
            yield phones

            seconds: ColumnElement[Any] = func.extract("epoch", Run.finished_at - Run.started_at)
            if db.get_bind().dialect.name == "sqlite":
                seconds = (func.julianday(Run.finished_at) - func.julianday(Run.started_at)) * 86400.0
            cols = [func.sum(case((seconds <= b, 1), else_=0)) for b in BUCKETS]
            row = db.execute(
                select(func.count(), func.coalesce(func.sum(seconds), 0.0), *cols).where(
                    Run.state == RunState.succeeded, Run.started_at.is_not(None), Run.finished_at.is_not(None)
                )
            ).one()
            total, total_s, *cum = row
            hist = HistogramMetricFamily("phonefarm_run_duration_seconds", "Wall time of succeeded runs")
            hist.add_metric(
                [],
                [(str(b), int(c or 0)) for b, c in zip(BUCKETS, cum, strict=True)] + [("+Inf", int(total))],
                float(total_s),
            )
            yield hist


CACHE_S = 10.0
_cache: dict[str, tuple[float, bytes]] = {}  # by database URL
_lock = threading.Lock()


def render() -> bytes:
    key = get_settings().sqlalchemy_url
    with _lock:
        now = time.monotonic()
        hit = _cache.get(key)
        if hit is None or now - hit[0] > CACHE_S:
            registry = CollectorRegistry()
            registry.register(FarmCollector())
            hit = _cache[key] = (now, generate_latest(registry))
        return hit[1]
