"""Prometheus metrics, read from the counters the transitions keep (server/counters.py).

The database is the source of truth, so the numbers are the same whichever API replica is
scraped, and no worker needs its own metrics endpoint. A scrape reads `farm_counters` (a row
per counter and label set) and the devices with their hosts (a row per phone): it never touches
`runs` or `results`, so it costs the same at 400,000 results as at 40. Queue depth per host
comes from the per-phone queued gauge mapped through each phone's current host (a phone that
moves host takes its queue with it, with no run changing). The rendered text is still cached
for CACHE_S so that hammering /metrics costs one read per CACHE_S; the endpoint needs a token
(server/main.py). Only counts are exported: no job, model or user is named.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import select

from contracts.settings import get_settings
from contracts.vocabulary import RunState
from server import counters
from server.db import session_scope
from server.devices.models import Device, FarmHost, effective_state

BUCKETS = counters.BUCKETS

_COUNTERS = {
    counters.SUBMITTED: ("phonefarm_runs_submitted", "Runs submitted (one per phone x delegate x threads)"),
    counters.STARTED: ("phonefarm_runs_started", "Runs claimed by a worker (every attempt)"),
    counters.REQUEUED: (
        "phonefarm_runs_requeued",
        "Running runs put back in the queue (lost phone, dead worker)",
    ),
    counters.RESULTS: ("phonefarm_results", "Results stored"),
}


class FarmCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        with session_scope() as db:
            rows = counters.read(db)
            devices = db.execute(
                select(
                    Device.id,
                    Device.state,
                    Device.disabled,
                    Device.quarantined,
                    Device.lease_run_id,
                    FarmHost.queue,
                ).join(FarmHost, FarmHost.id == Device.host_id)
            ).all()  # plain rows, not ORM objects: a scrape at 1,000 phones stays a few ms
        by_name: defaultdict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
        for name, labels, value in rows:
            by_name[name].append((labels, value))
        total = {name: sum(v for _, v in by_name[name]) for name in _COUNTERS}
        for name, (metric, doc) in _COUNTERS.items():
            family = CounterMetricFamily(metric, doc)
            family.add_metric([], total[name])
            yield family

        finished = CounterMetricFamily(
            "phonefarm_runs_finished",
            "Runs that reached a final state, by blame at the time",
            labels=["state", "blame"],
        )
        by_state: defaultdict[str, float] = defaultdict(float)
        for labels, value in sorted(by_name[counters.FINISHED], key=lambda r: sorted(r[0].items())):
            finished.add_metric([labels["state"], labels["blame"]], value)
            by_state[labels["state"]] += value
        yield finished

        queue_of = {d.id: d.queue for d in devices}
        depth: defaultdict[str, float] = defaultdict(float)
        for labels, value in by_name[counters.ACTIVE]:
            by_state[labels["state"]] += value
            if labels["state"] == RunState.queued and (queue := queue_of.get(int(labels["device"]))):
                depth[queue] += value
        runs = GaugeMetricFamily("phonefarm_runs", "Runs by state", labels=["state"])
        for state in RunState:
            runs.add_metric([state.value], by_state.get(state.value, 0.0))
        yield runs

        queue_depth = GaugeMetricFamily(
            "phonefarm_queue_depth", "Queued runs per host queue", labels=["queue"]
        )
        for queue in sorted(set(queue_of.values())):
            queue_depth.add_metric([queue], depth.get(queue, 0.0))
        yield queue_depth

        phones = GaugeMetricFamily("phonefarm_devices", "Phones by state", labels=["state"])
        states: defaultdict[str, int] = defaultdict(int)
        for d in devices:
            states[effective_state(d.state, d.disabled, d.quarantined, d.lease_run_id).value] += 1
        for state_name, n in sorted(states.items()):
            phones.add_metric([state_name], n)
        yield phones

        per_bucket = {labels["le"]: value for labels, value in by_name[counters.DURATION_BUCKET]}
        cumulative, below = [], 0.0
        for le in [counters.le_label(b) for b in BUCKETS] + ["+Inf"]:
            below += per_bucket.get(le, 0.0)
            cumulative.append((le, below))
        hist = HistogramMetricFamily("phonefarm_run_duration_seconds", "Wall time of succeeded runs")
        hist.add_metric([], cumulative, sum(v for _, v in by_name[counters.DURATION_SUM]))
        yield hist


CACHE_S = 2.0
"""A scrape is cheap now (counters, not aggregates); the cache only bounds how often a caller
hammering /metrics reaches the database."""
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
