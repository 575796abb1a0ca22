"""Keeping `result_rollups` true: one upsert in the transaction that stores a result.

Why an upsert and not a materialized view: a view must be refreshed (whole, or with
triggers) and SQLite has none; an `INSERT … ON CONFLICT DO UPDATE` is atomic on both
Postgres and SQLite, so two workers storing results for the same phone and model at once
both count. `rebuild()` recomputes every row from `results` (the migration's backfill, and
a repair after bulk loads such as bench/dashboard_scale.py's COPY).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, or_, text, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from server.auth.service import Principal
from server.results.models import Result, ResultRollup

REBUILD_SQL = """
INSERT INTO result_rollups (model_id, device_id, delegate, public, submitter, n, sum_avg_us, sum_sq_avg_us,
                            sum_var_us, min_us, max_us, last_job_id, last_result_id)
SELECT r.model_id, r.device_id, r.delegate, j.public, COALESCE(j.submitter, ''), COUNT(*), SUM(r.avg_us),
       SUM(r.avg_us * r.avg_us), SUM(COALESCE(r.std_us, 0) * COALESCE(r.std_us, 0)),
       MIN(COALESCE(r.min_us, r.avg_us)), MAX(COALESCE(r.max_us, r.avg_us)), MAX(r.job_id), MAX(r.id)
FROM results r JOIN jobs j ON j.id = r.job_id
GROUP BY r.model_id, r.device_id, r.delegate, j.public, COALESCE(j.submitter, '')
"""


def rebuild(conn: Connection) -> None:
    conn.execute(text("DELETE FROM result_rollups"))
    conn.execute(text(REBUILD_SQL))


def add(db: Session, result: Result, public: bool, submitter: str | None) -> None:
    """Count one new result (already flushed, so it has an id) in its rollup row."""
    low = result.min_us if result.min_us is not None else result.avg_us
    high = result.max_us if result.max_us is not None else result.avg_us
    std = result.std_us or 0.0
    values = {
        "model_id": result.model_id,
        "device_id": result.device_id,
        "delegate": result.delegate,
        "public": public,
        "submitter": submitter or "",
        "n": 1,
        "sum_avg_us": result.avg_us,
        "sum_sq_avg_us": result.avg_us * result.avg_us,
        "sum_var_us": std * std,
        "min_us": low,
        "max_us": high,
        "last_job_id": result.job_id,
        "last_result_id": result.id,
    }
    postgres = db.get_bind().dialect.name == "postgresql"
    stmt = (pg_insert if postgres else sqlite_insert)(ResultRollup).values(**values)
    least, greatest = (func.least, func.greatest) if postgres else (func.min, func.max)
    t, x = ResultRollup.__table__.c, stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=["model_id", "device_id", "delegate", "public", "submitter"],
        set_={
            "n": t.n + 1,
            "sum_avg_us": t.sum_avg_us + x.sum_avg_us,
            "sum_sq_avg_us": t.sum_sq_avg_us + x.sum_sq_avg_us,
            "sum_var_us": t.sum_var_us + x.sum_var_us,
            "min_us": least(t.min_us, x.min_us),
            "max_us": greatest(t.max_us, x.max_us),
            "last_job_id": greatest(t.last_job_id, x.last_job_id),
            "last_result_id": greatest(t.last_result_id, x.last_result_id),
        },
    )
    db.execute(stmt)


def visible(principal: Principal) -> ColumnElement[bool]:
    """The rollup rows of the jobs the caller may see (as dashboard.service.job_visible)."""
    if principal.is_admin:
        return true()
    return or_(ResultRollup.public, ResultRollup.submitter == principal.name)
