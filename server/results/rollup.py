"""Keeping `result_rollups` true: one upsert in the transaction that stores a result.

Why an upsert and not a materialized view: a view must be refreshed (whole, or with
triggers) and SQLite has none; an `INSERT … ON CONFLICT DO UPDATE` is atomic on both
Postgres and SQLite, so two workers storing results for the same phone and model at once
both count. `rebuild()` recomputes every row from `results` (the migration's backfill, and
a repair after bulk loads such as bench/dashboard_scale.py's COPY).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from server.auth.service import Principal
from server.dashboard.tables import NOMINAL_RAM_GB, nominal_ram_gb
from server.devices.models import Device
from server.results.models import Result, ResultGroupRollup, ResultRollup

REBUILD_SQL = """
INSERT INTO result_rollups (model_id, device_id, delegate, public, submitter_id, n, sum_avg_us, sum_sq_avg_us,
                            sum_var_us, min_us, max_us, last_job_id, last_result_id)
SELECT r.model_id, r.device_id, r.delegate, j.public, COALESCE(j.submitter_id, 0), COUNT(*), SUM(r.avg_us),
       SUM(r.avg_us * r.avg_us), SUM(COALESCE(r.std_us, 0) * COALESCE(r.std_us, 0)),
       MIN(COALESCE(r.min_us, r.avg_us)), MAX(COALESCE(r.max_us, r.avg_us)), MAX(r.job_id), MAX(r.id)
FROM results r JOIN jobs j ON j.id = r.job_id
GROUP BY r.model_id, r.device_id, r.delegate, j.public, COALESCE(j.submitter_id, 0)
"""


def ram_gb_sql(ram_mb: Any) -> ColumnElement[Any]:
    """tables.nominal_ram_gb in SQL (NULL for unknown)."""
    whens = [(ram_mb <= int(g * 1024), literal(float(g))) for g in NOMINAL_RAM_GB]
    beyond = cast((ram_mb + 1023) // 1024, Float)
    return case((ram_mb.is_(None), None), (ram_mb <= 0, None), *whens, else_=beyond)


def rebuild(conn: Connection) -> None:
    """Recompute both rollups from `results` (backfill, or repair after bulk loads)."""
    conn.execute(text("DELETE FROM result_rollups"))
    conn.execute(text(REBUILD_SQL))
    rebuild_groups(conn)


def rebuild_groups(conn: Connection) -> None:
    conn.execute(delete(ResultGroupRollup))
    r = ResultRollup.__table__.c
    per_phone = (
        select(
            r.model_id,
            r.delegate,
            r.device_id,
            (func.sum(r.sum_avg_us) / func.sum(r.n)).label("mean"),
            func.max(r.last_job_id).label("last_job_id"),
        )
        .where(r.public.is_(True))
        .group_by(r.model_id, r.delegate, r.device_id)
        .subquery()
    )
    d = Device.__table__.c
    ram = func.coalesce(ram_gb_sql(d.ram_mb), -1.0)
    soc = func.coalesce(d.soc_name, "")
    q = (
        select(
            per_phone.c.model_id,
            per_phone.c.delegate,
            soc,
            d.soc_known,
            ram,
            d.is_virtual,
            func.count(),
            func.sum(per_phone.c.mean),
            func.max(per_phone.c.last_job_id),
        )
        .join_from(per_phone, Device.__table__, d.id == per_phone.c.device_id)
        .group_by(per_phone.c.model_id, per_phone.c.delegate, soc, d.soc_known, ram, d.is_virtual)
    )
    cols = [
        "model_id",
        "delegate",
        "soc_name",
        "soc_known",
        "ram_gb",
        "is_virtual",
        "phones",
        "sum_phone_avg_us",
        "last_job_id",
    ]
    conn.execute(insert(ResultGroupRollup).from_select(cols, q))


def add(db: Session, result: Result, public: bool, submitter_id: int | None) -> None:
    """Count one new result (already flushed, so it has an id) in its rollup row."""
    low = result.min_us if result.min_us is not None else result.avg_us
    high = result.max_us if result.max_us is not None else result.avg_us
    std = result.std_us or 0.0
    values = {
        "model_id": result.model_id,
        "device_id": result.device_id,
        "delegate": result.delegate,
        "public": public,
        "submitter_id": submitter_id or 0,
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
        index_elements=["model_id", "device_id", "delegate", "public", "submitter_id"],
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
    if public:
        # the phone's mean over all public results for this model and delegate, any submitter
        r = ResultRollup
        n, total = db.execute(
            select(func.sum(r.n), func.sum(r.sum_avg_us)).where(
                r.model_id == result.model_id,
                r.device_id == result.device_id,
                r.delegate == result.delegate,
                r.public.is_(True),
            )
        ).one()
        _add_to_group(db, result, int(n), float(total), postgres)


def _add_to_group(db: Session, result: Result, n: int, total: float, postgres: bool) -> None:
    """Move the phone's mean in its group: a new phone adds one, a known one shifts its mean.

    n and total are the phone's public count and sum for this model and delegate, this result
    included; the phone's group (SoC, RAM, virtual) is read now (a re-identified phone's old
    group keeps its share until `rebuild()`)."""
    device = db.get(Device, result.device_id)
    if device is None:
        return
    new_mean = total / n
    old_mean = (total - result.avg_us) / (n - 1) if n > 1 else 0.0
    values = {
        "model_id": result.model_id,
        "delegate": result.delegate,
        "soc_name": device.soc_name or "",
        "soc_known": bool(device.soc_known),
        "ram_gb": nominal_ram_gb(device.ram_mb) or -1.0,
        "is_virtual": bool(device.is_virtual),
        "phones": 1 if n == 1 else 0,
        "sum_phone_avg_us": new_mean - old_mean,
        "last_job_id": result.job_id,
    }
    stmt = (pg_insert if postgres else sqlite_insert)(ResultGroupRollup).values(**values)
    t, x = ResultGroupRollup.__table__.c, stmt.excluded
    db.execute(
        stmt.on_conflict_do_update(
            index_elements=["model_id", "delegate", "soc_name", "soc_known", "ram_gb", "is_virtual"],
            set_={
                "phones": t.phones + x.phones,
                "sum_phone_avg_us": t.sum_phone_avg_us + x.sum_phone_avg_us,
                "last_job_id": (func.greatest if postgres else func.max)(t.last_job_id, x.last_job_id),
            },
        )
    )


def visible(principal: Principal) -> ColumnElement[bool]:
    """The rollup rows of the jobs the caller may see (as dashboard.service.job_visible)."""
    if principal.is_admin:
        return true()
    return or_(ResultRollup.public, principal.mine(ResultRollup.submitter_id))
