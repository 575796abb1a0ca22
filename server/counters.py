"""Farm counters: what /metrics reports, kept in `farm_counters` by the transactions that change it.

A scrape used to aggregate `runs` (by state, by host queue, durations) and so cost a scan of
tables that grow with every benchmark. Now every run transition (server/jobs/lifecycle.py,
job submission and cancellation in server/jobs/service.py, inferences) records deltas here,
and a scrape reads `farm_counters`: O(number of counters) rows, never `runs` or `results`.

One row per (name, labels): `labels` is the canonical `k=v,k=v` key (sorted), `value` a double.

- monotonic counters: `runs_submitted_total`, `runs_started_total` (claims, so attempts),
  `runs_requeued_total` (a running run back in the queue: lost phone, dead worker),
  `runs_finished_total{state,blame}` (the blame at the time of failure; a later re-blame by
  lifecycle._absolve does not move it), `results_total`, and the histogram of succeeded runs'
  wall time as one row per bucket (`run_duration_seconds_bucket{le}`, not cumulative: one row
  per success rather than one per bucket above it; the scrape cumulates) plus `_sum`;
- gauges: `runs{state,device}` for the active states (queued, running), +1/-1 per transition.
  Per phone, not per host queue: a phone can move to another host without any run changing,
  so the scrape maps phones to queues with the devices table (O(phones)), as before.

Why deltas applied at commit, sorted: the rows are shared (every claim touches
`runs_started_total`), so a transaction holds their row locks only from its `before_commit` to
its commit (the upserts are its last statements, after the ORM flush), and takes them in one
order, so two transactions never wait on each other's counter rows in a cycle. One row per
(counter, labels) rather than sharded slots: at a farm's rate (hundreds of phones, runs of
seconds to minutes: tens of transitions a second at most) a lock held for the last millisecond
of a commit is not contended; the per-phone gauge rows are touched by that phone's runs only.
Counts are exact because the delta commits (or rolls back) with the transition itself.
`rebuild()` recomputes everything from `runs`/`results` (the migration's backfill, a repair).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Float,
    Integer,
    String,
    case,
    column,
    delete,
    event,
    func,
    insert,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from contracts.vocabulary import ACTIVE_RUN_STATES, TERMINAL_RUN_STATES, RunState
from server.db import Base

BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600)
"""Upper bounds (seconds) of the run duration histogram."""

SUBMITTED = "runs_submitted_total"
STARTED = "runs_started_total"
REQUEUED = "runs_requeued_total"
FINISHED = "runs_finished_total"
RESULTS = "results_total"
ACTIVE = "runs"
DURATION_BUCKET = "run_duration_seconds_bucket"
DURATION_SUM = "run_duration_seconds_sum"

_PENDING = "phonefarm.counters.pending"


class FarmCounter(Base):
    __tablename__ = "farm_counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    labels: Mapped[str] = mapped_column(String(200), primary_key=True, default="")
    value: Mapped[float] = mapped_column(Float, default=0.0)


def labels_key(labels: Mapping[str, object]) -> str:
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def parse_labels(key: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in key.split(",")) if key else {}


def bump(db: Session, name: str, delta: float = 1.0, **labels: object) -> None:
    """Add `delta` to a counter when `db` commits (nothing if it rolls back)."""
    pending: defaultdict[tuple[str, str], float] = db.info.setdefault(_PENDING, defaultdict(float))
    pending[(name, labels_key(labels))] += delta


def pending(db: Session) -> dict[tuple[str, str], float]:
    """The deltas `db` will apply at its next commit (tests)."""
    return {k: v for k, v in db.info.get(_PENDING, {}).items() if v}


# ------------------------------------------------------------------ transitions


def submitted(db: Session, device_ids: Iterable[int]) -> None:
    """New runs, queued on these phones (one id per run)."""
    for device_id in device_ids:
        bump(db, SUBMITTED)
        moved(db, None, (RunState.queued, device_id))


def moved(db: Session, before: tuple[str, int] | None, after: tuple[str, int] | None) -> None:
    """A run went from (state, phone) to (state, phone); only active states are gauged."""
    if before == after:
        return
    if before is not None and before[0] in ACTIVE_RUN_STATES:
        bump(db, ACTIVE, -1, state=before[0], device=before[1])
    if after is not None and after[0] in ACTIVE_RUN_STATES:
        bump(db, ACTIVE, 1, state=after[0], device=after[1])


def started(db: Session, before: tuple[str, int], device_id: int) -> None:
    bump(db, STARTED)
    moved(db, before, (RunState.running, device_id))


def requeued(db: Session, before: tuple[str, int], device_id: int) -> None:
    if before[0] == RunState.running:
        bump(db, REQUEUED)
    moved(db, before, (RunState.queued, device_id))


def finished(
    db: Session,
    before: tuple[str, int],
    state: str,
    blame: str | None = None,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
) -> None:
    """A run reached a final state; a success with both times lands in the duration histogram."""
    bump(db, FINISHED, state=state, blame=blame or "")
    moved(db, before, (state, before[1]))
    if state == RunState.succeeded and started_at is not None and finished_at is not None:
        seconds = max(0.0, (finished_at - started_at).total_seconds())
        bump(db, DURATION_BUCKET, le=bucket(seconds))
        bump(db, DURATION_SUM, seconds)


def bucket(seconds: float) -> str:
    """The label of the smallest histogram bucket that holds `seconds`."""
    return next((le_label(b) for b in BUCKETS if seconds <= b), "+Inf")


def le_label(b: float) -> str:
    return str(float(b))


# ------------------------------------------------------------------ applying


def _dialect(db: Session | Connection) -> str:
    return db.get_bind().dialect.name if isinstance(db, Session) else db.dialect.name


def _upsert(db: Session, rows: list[dict[str, Any]]) -> None:
    stmt = (pg_insert if _dialect(db) == "postgresql" else sqlite_insert)(FarmCounter)
    table = FarmCounter.__table__.c
    stmt = stmt.on_conflict_do_update(
        index_elements=["name", "labels"], set_={"value": table.value + stmt.excluded.value}
    )
    for row in rows:  # one statement per row, in the caller's (sorted) order: lock order
        db.execute(stmt.values(**row))


@event.listens_for(Session, "before_commit")
def _apply_before_commit(db: Session) -> None:
    deltas: dict[tuple[str, str], float] | None = db.info.pop(_PENDING, None)
    if not deltas:
        return
    db.flush()  # the transition's own rows first: counter locks are the transaction's last
    _upsert(db, [{"name": n, "labels": k, "value": v} for (n, k), v in sorted(deltas.items()) if v])


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(db: Session, *_: Any) -> None:
    db.info.pop(_PENDING, None)


def read(db: Session) -> list[tuple[str, dict[str, str], float]]:
    """Every counter row: (name, labels, value)."""
    return [
        (name, parse_labels(key), float(value))
        for name, key, value in db.execute(select(FarmCounter.name, FarmCounter.labels, FarmCounter.value))
    ]


# ------------------------------------------------------------------ backfill / repair


# the columns rebuild() reads, as plain tables rather than the ORM models: migration 0008 runs
# it, and must keep working whatever the models become later
_runs = table(
    "runs",
    column("state", String),
    column("blame", String),
    column("device_id", Integer),
    column("attempts", Integer),
    column("started_at", DateTime),
    column("finished_at", DateTime),
)
_results = table("results", column("id", Integer))
_counters = table("farm_counters", column("name", String), column("labels", String), column("value", Float))


def duration_seconds(conn: Connection | Session) -> ColumnElement[Any]:
    """A run's wall time in SQL, per dialect."""
    r = _runs.c
    if _dialect(conn) == "sqlite":
        return (func.julianday(r.finished_at) - func.julianday(r.started_at)) * 86400.0
    return func.extract("epoch", r.finished_at - r.started_at)


def rebuild(conn: Connection) -> None:
    """Recompute every counter from `runs` and `results` (the migration's backfill, a repair).

    Exact for everything but `runs_requeued_total`, which no column records: it is estimated
    as attempts beyond the first of every started run (a run cancelled while back in the
    queue counts one short)."""
    r = _runs.c
    rows: dict[tuple[str, str], float] = defaultdict(float)
    total, attempts, started_runs = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(r.attempts), 0),
            func.coalesce(func.sum(case((r.attempts > 0, 1), else_=0)), 0),
        ).select_from(_runs)
    ).one()
    rows[(SUBMITTED, "")] = total
    rows[(STARTED, "")] = attempts
    rows[(REQUEUED, "")] = max(0, attempts - started_runs)
    for state, blame, n in conn.execute(
        select(r.state, r.blame, func.count())
        .where(r.state.in_(list(TERMINAL_RUN_STATES)))
        .group_by(r.state, r.blame)
    ):
        rows[(FINISHED, labels_key({"state": state, "blame": blame or ""}))] += n
    for state, device_id, n in conn.execute(
        select(r.state, r.device_id, func.count())
        .where(r.state.in_(list(ACTIVE_RUN_STATES)))
        .group_by(r.state, r.device_id)
    ):
        rows[(ACTIVE, labels_key({"state": state, "device": device_id}))] = n
    rows[(RESULTS, "")] = conn.execute(select(func.count()).select_from(_results)).scalar_one()
    seconds = duration_seconds(conn)
    cumulative = [func.coalesce(func.sum(case((seconds <= b, 1), else_=0)), 0) for b in BUCKETS]
    n, total_s, *cum = conn.execute(
        select(func.count(), func.coalesce(func.sum(seconds), 0.0), *cumulative).where(
            r.state == RunState.succeeded, r.started_at.is_not(None), r.finished_at.is_not(None)
        )
    ).one()
    below = 0
    for b, c in zip(BUCKETS, cum, strict=True):
        rows[(DURATION_BUCKET, labels_key({"le": le_label(b)}))] = int(c) - below
        below = int(c)
    rows[(DURATION_BUCKET, labels_key({"le": "+Inf"}))] = int(n) - below
    rows[(DURATION_SUM, "")] = float(total_s)
    conn.execute(delete(_counters))
    conn.execute(
        insert(_counters),
        [{"name": name, "labels": key, "value": float(v)} for (name, key), v in sorted(rows.items())],
    )
