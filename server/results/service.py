"""Querying results: one flat, filterable table (the API, CSV export and dashboard share it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from server.auth.service import Principal
from server.devices.models import Device
from server.jobs.models import Job
from server.models.models import Model
from server.results.models import Result

COLUMNS = [
    "id",
    "job_id",
    "run_id",
    "model_id",
    "model",
    "device_id",
    "device",
    "soc",
    "is_virtual",
    "delegate",
    "delegate_applied",
    "threads",
    "init_us",
    "first_inference_us",
    "warmup_avg_us",
    "avg_us",
    "min_us",
    "max_us",
    "std_us",
    "median_us",
    "mean_us",
    "trial_p90_us",
    "tool_p95_us",
    "cv",
    "ci95_low_us",
    "ci95_high_us",
    "ci_half_pct",
    "detectable_pct",
    "trials",
    "unstable",
    "unstable_reason",
    "count",
    "mem_init_mb",
    "mem_overall_mb",
    "mem_peak_mb",
    "tool_version",
    "battery_before",
    "battery_after",
    "temp_before_c",
    "temp_after_c",
    "created_at",
]


def _query(
    principal: Principal,
    model: str | None,
    soc: str | None,
    device: int | None,
    delegate: str | None,
    job: int | None,
) -> Any:
    q = (
        select(
            Result,
            Model.name.label("model_name"),
            Device.model.label("device_model"),
            Device.soc_name,
            Device.is_virtual,
        )
        .join(Model, Model.id == Result.model_id)
        .join(Device, Device.id == Result.device_id)
        .join(Job, Job.id == Result.job_id)
    )
    if not principal.is_admin:
        q = q.where(or_(Job.public, Job.submitter == principal.name))
    if model:
        q = (
            q.where(Model.id == int(model))
            if model.isdecimal()
            else q.where(or_(Model.name == model, Model.sha256.startswith(model), Model.zoo_name == model))
        )
    if soc:
        q = q.where(or_(Device.soc_name == soc, Device.soc_codename == soc))
    if device is not None:
        q = q.where(Result.device_id == device)
    if delegate:
        q = q.where(Result.delegate == delegate)
    if job is not None:
        q = q.where(Result.job_id == job)
    return q


def search(
    db: Session,
    principal: Principal,
    *,
    model: str | None = None,
    soc: str | None = None,
    device: int | None = None,
    delegate: str | None = None,
    job: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    q = _query(principal, model, soc, device, delegate, job)
    total = db.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = []
    for res, model_name, device_model, soc_name, is_virtual in db.execute(
        q.order_by(Result.id.desc()).limit(limit).offset(offset)
    ):
        row = {c.key: getattr(res, c.key) for c in Result.__table__.columns}
        row.update(model=model_name, device=device_model, soc=soc_name, is_virtual=is_virtual)
        rows.append(row)
    return total, rows
