"""Queries behind the dashboard pages.

Why here and in SQL: a farm accumulates hundreds of thousands of results, and the
leaderboard and comparison pages must answer in well under a second. Every
aggregation (per phone, per delegate, per SoC) is a GROUP BY the database does over
the denormalised `results` table and its (model_id, delegate, avg_us) index; Python
only receives the few hundred aggregated rows and shapes them. Visibility follows the
API: public jobs plus the caller's own (all of them for an admin).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Float, Select, and_, case, cast, func, literal, null, select, true
from sqlalchemy.orm import Session, selectinload

from contracts.labels import unique_phone_labels
from contracts.vocabulary import (
    ACTIVE_JOB_STATES,
    ACTIVE_RUN_STATES,
    AVAILABLE_DEVICE_STATES,
    Delegate,
    RunState,
    soc_label,
)
from server.auth.service import Principal
from server.dashboard.tables import NOMINAL_RAM_GB, model_label
from server.devices.models import Device
from server.devices.schemas import DeviceOut
from server.devices.service import list_devices
from server.jobs import service as jobs_service
from server.jobs.models import Job, Run
from server.jobs.schemas import Progress
from server.jobs.service import job_visible, progress_from_counts
from server.models.models import Model
from server.models.service import visible as model_visible
from server.results import rollup
from server.results.models import MEASUREMENTS, Result, ResultGroupRollup, ResultRollup

DELEGATES = tuple(d.value for d in Delegate)
DEFAULT_COMPARE_MODELS = 20


# ---------------------------------------------------------------- devices


@dataclass
class DeviceRow:
    device: DeviceOut
    soc: str
    job_id: int | None


def devices(db: Session) -> list[DeviceRow]:
    phones = list_devices(db)
    leases = [d.lease_run_id for d in phones if d.lease_run_id is not None]
    run_jobs = dict(db.execute(select(Run.id, Run.job_id).where(Run.id.in_(leases))).all()) if leases else {}
    rows = []
    for d in phones:
        out = DeviceOut.model_validate(d)
        rows.append(
            DeviceRow(
                out,
                soc_label(out.soc_name, out.soc_known),
                run_jobs.get(d.lease_run_id) if d.lease_run_id else None,
            )
        )
    return rows


# ---------------------------------------------------------------- models


@dataclass
class ModelRow:
    id: int
    name: str
    size_bytes: int
    inputs: list[dict[str, Any]]
    jobs: int
    zoo_name: str | None
    public: bool


def models(db: Session, principal: Principal) -> list[ModelRow]:
    jobs = (
        select(Job.model_id, func.count().label("n"))
        .where(job_visible(principal))
        .group_by(Job.model_id)
        .subquery()
    )
    q = (
        select(Model, func.coalesce(jobs.c.n, 0))
        .outerjoin(jobs, jobs.c.model_id == Model.id)
        .where(model_visible(principal))
        .order_by(Model.id.desc())
    )
    return [
        ModelRow(m.id, m.name, m.size_bytes, list(m.inputs or []), int(n), m.zoo_name, m.public)
        for m, n in db.execute(q)
    ]


def model_choices(db: Session, principal: Principal) -> list[tuple[int, str]]:
    """Models that have results the caller may see, newest first, as (id, 'name [HxW]') for pickers.

    Asks the rollup (one row per model, phone, delegate and visibility, kept with each
    result) whether a model has a visible result: an index probe per model instead of a
    DISTINCT over every result, which took ~110 ms at 400,000 results.
    """
    has_results = (
        select(ResultRollup.id).where(ResultRollup.model_id == Model.id, rollup.visible(principal)).exists()
    )
    q = (
        select(Model.id, Model.name, Model.inputs)
        .where(model_visible(principal), has_results)
        .order_by(Model.id.desc())
    )
    return [(int(i), model_label(str(n), list(inputs or []))) for i, n, inputs in db.execute(q)]


# ---------------------------------------------------------------- jobs


@dataclass
class JobRow:
    id: int
    model_id: int
    model: str
    state: str
    submitter: str | None
    created_at: Any
    finished_at: Any
    progress: Progress

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_JOB_STATES


def jobs(db: Session, principal: Principal, limit: int = 100) -> list[JobRow]:
    q = (
        select(Job, Model.name)
        .options(selectinload(Job.submitter_user))
        .join(Model, Model.id == Job.model_id)
        .where(job_visible(principal))
        .order_by(Job.id.desc())
        .limit(limit)
    )
    found = list(db.execute(q))
    ids = [j.id for j, _ in found]
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    if ids:
        for job_id, state, n in db.execute(
            select(Run.job_id, Run.state, func.count())
            .where(Run.job_id.in_(ids))
            .group_by(Run.job_id, Run.state)
        ):
            counts[job_id][state] = n
    return [
        JobRow(
            j.id,
            j.model_id,
            name,
            j.state,
            j.submitter,
            j.created_at,
            j.finished_at,
            progress_from_counts(counts[j.id]),
        )
        for j, name in found
    ]


@dataclass
class RunRow:
    run_id: int
    device_id: int
    phone: str
    soc: str
    is_virtual: bool
    delegate: str
    delegate_applied: str | None
    threads: int
    state: str
    attempts: int
    error: str | None
    output_bytes: int | None  # the whole output is served on its own endpoint
    output_tail: str | None  # its last OUTPUT_TAIL characters (the timings), shown inline
    result: dict[str, Any] | None
    timing_mode: str | None = None  # a virtual phone's: host, profile or sim

    @property
    def host_timing(self) -> bool:
        """A delegate the host cannot emulate, timed on the host: not a phone's figure."""
        return self.is_virtual and self.timing_mode in (None, "host") and self.delegate in ("gpu", "nnapi")

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_RUN_STATES


@dataclass
class JobDetail:
    job: JobRow
    model: Model
    spec: dict[str, Any]
    runs: list[RunRow] = field(default_factory=list)

    @property
    def results(self) -> list[RunRow]:
        return [r for r in self.runs if r.result is not None]

    @property
    def failures(self) -> list[RunRow]:
        return [
            r for r in self.runs if r.state == RunState.failed or (r.state == RunState.cancelled and r.error)
        ]


OUTPUT_TAIL = 8192  # characters of each run's output shown on the job page


def _output_tails(db: Session, job_id: int) -> dict[int, str]:
    """The end of each run's output, cut in the database: a job page never loads whole outputs."""
    sqlite = db.get_bind().dialect.name == "sqlite"
    tail = func.substr(Run.raw_output, -OUTPUT_TAIL) if sqlite else func.right(Run.raw_output, OUTPUT_TAIL)
    rows = db.execute(select(Run.id, tail).where(Run.job_id == job_id, Run.raw_output.is_not(None)))
    return {int(run_id): str(text) for run_id, text in rows}


def job_detail(db: Session, principal: Principal, job_id: int) -> JobDetail:
    job = jobs_service.get_job(db, principal, job_id)  # 404 unless visible
    model = db.get(Model, job.model_id)
    assert model is not None
    results = {r.run_id: r for r in db.scalars(select(Result).where(Result.job_id == job.id))}
    device_ids = {r.device_id for r in job.runs}
    phones = (
        {d.id: d for d in db.scalars(select(Device).where(Device.id.in_(device_ids)))} if device_ids else {}
    )
    counts = Counter(r.state for r in job.runs)
    tails = _output_tails(db, job.id)
    row = JobRow(
        job.id,
        job.model_id,
        model.name,
        job.state,
        job.submitter,
        job.created_at,
        job.finished_at,
        progress_from_counts(counts),
    )
    detail = JobDetail(row, model, dict(job.spec or {}))
    labels = unique_phone_labels((d.id, d.model, d.serial, d.is_virtual) for d in phones.values())
    for run in job.runs:
        d = phones.get(run.device_id)
        res = results.get(run.id)
        detail.runs.append(
            RunRow(
                run_id=run.id,
                device_id=run.device_id,
                phone=labels.get(run.device_id, f"device {run.device_id}"),
                soc=soc_label(d.soc_name, d.soc_known) if d else soc_label(None),
                is_virtual=bool(d and d.is_virtual),
                delegate=run.delegate,
                delegate_applied=res.delegate_applied if res else None,
                threads=run.threads,
                state=run.state,
                attempts=run.attempts,
                error=run.error,
                output_bytes=run.output_bytes,
                output_tail=tails.get(run.id),
                result=_result_dict(res) if res else None,
                timing_mode=d.timing_mode if d and d.is_virtual else None,
            )
        )
    return detail


def _result_dict(res: Result) -> dict[str, Any]:
    out = {k: getattr(res, k) for k in ("delegate_applied", *MEASUREMENTS)}
    out["trial_stats"] = list((res.env or {}).get("trials") or [])
    out["sustained"] = (res.env or {}).get("sustained")
    out["precision"] = (res.env or {}).get("precision")
    out["ci_refused"] = (res.env or {}).get("ci_refused")
    out["placement"] = (res.env or {}).get("placement")
    return out


# ---------------------------------------------------------------- leaderboard


@dataclass
class Leaderboard:
    model_id: int | None
    delegate: str
    include_virtual: bool
    table: pd.DataFrame
    virtual_only: bool  # nothing without virtual phones, but virtual phones have results


def _virtual_filter(include_virtual: bool) -> ColumnElement[bool]:
    return true() if include_virtual else Device.is_virtual.is_(False)


def latest_model_with_results(db: Session, principal: Principal) -> int | None:
    q = (
        select(ResultRollup.model_id)
        .where(rollup.visible(principal))
        .order_by(ResultRollup.last_result_id.desc())
        .limit(1)
    )
    found = db.scalar(q)
    return int(found) if found is not None else None


def _has_virtual_results(db: Session, principal: Principal, model_ids: list[int]) -> bool:
    q = (
        select(ResultRollup.id)
        .join(Device, Device.id == ResultRollup.device_id)
        .where(ResultRollup.model_id.in_(model_ids), rollup.visible(principal), Device.is_virtual.is_(True))
        .limit(1)
    )
    return db.scalar(q) is not None


LEADERBOARD_COLUMNS = [
    "rank",
    "device_id",
    "phone",
    "soc",
    "is_virtual",
    "delegate",
    "results",
    "avg_ms",
    "min_ms",
    "max_ms",
    "std_ms",
]


def leaderboard(
    db: Session, principal: Principal, model_id: int | None, delegate: str, include_virtual: bool
) -> Leaderboard:
    """Phones ranked by mean latency for one model: per (phone, delegate) in SQL, best delegate by window."""
    empty = pd.DataFrame(columns=LEADERBOARD_COLUMNS)
    if model_id is None:
        return Leaderboard(None, delegate, include_virtual, empty, False)
    # from the rollup (kept with each result): the same sums a GROUP BY over results would give
    r = ResultRollup
    conds = [r.model_id == model_id, rollup.visible(principal), _virtual_filter(include_virtual)]
    if delegate != "best":
        conds.append(r.delegate == delegate)
    n = func.sum(r.n)
    per_pair = (
        select(
            r.device_id,
            r.delegate,
            n.label("n"),
            (func.sum(r.sum_avg_us) / n).label("avg_us"),
            func.min(r.min_us).label("min_us"),
            func.max(r.max_us).label("max_us"),
            # pooled spread: mean within-result variance + variance between results' means
            (func.sum(r.sum_var_us) / n).label("mean_var"),
            (func.sum(r.sum_sq_avg_us) / n).label("mean_sq"),
        )
        .join(Device, Device.id == r.device_id)
        .where(and_(*conds))
        .group_by(r.device_id, r.delegate)
    ).subquery()
    ranked = select(
        per_pair,
        func.row_number()
        .over(partition_by=per_pair.c.device_id, order_by=(per_pair.c.avg_us, per_pair.c.delegate))
        .label("pick"),
    ).subquery()
    q: Select[Any] = (
        select(
            ranked.c.device_id,
            ranked.c.delegate,
            ranked.c.n,
            ranked.c.avg_us,
            ranked.c.min_us,
            ranked.c.max_us,
            ranked.c.mean_var,
            ranked.c.mean_sq,
            Device.model,
            Device.serial,
            Device.soc_name,
            Device.soc_known,
            Device.ram_mb,
            Device.is_virtual,
        )
        .join(Device, Device.id == ranked.c.device_id)
        .order_by(ranked.c.avg_us, ranked.c.device_id)
    )
    if delegate == "best":
        q = q.where(ranked.c.pick == 1)
    rows = db.execute(q).all()
    virtual_only = not rows and not include_virtual and _has_virtual_results(db, principal, [model_id])
    if not rows:
        return Leaderboard(model_id, delegate, include_virtual, empty, virtual_only)
    df = pd.DataFrame(rows, columns=list(q.selected_columns.keys()))
    labels = unique_phone_labels(
        (int(i), m, str(s), bool(v))
        for i, m, s, v in zip(df["device_id"], df["model"], df["serial"], df["is_virtual"], strict=True)
    )
    variance = (df["mean_var"] + (df["mean_sq"] - df["avg_us"] ** 2).clip(lower=0)).astype(float)
    table = pd.DataFrame(
        {
            "rank": range(1, len(df) + 1),
            "device_id": df["device_id"].astype(int),
            "phone": [labels[int(i)] for i in df["device_id"]],
            "soc": [soc_label(n, bool(k)) for n, k in zip(df["soc_name"], df["soc_known"], strict=True)],
            "is_virtual": df["is_virtual"].astype(bool),
            "delegate": df["delegate"],
            "results": df["n"].astype(int),
            "avg_ms": df["avg_us"].astype(float) / 1000,
            "min_ms": df["min_us"].astype(float) / 1000,
            "max_ms": df["max_us"].astype(float) / 1000,
            "std_ms": variance.map(math.sqrt) / 1000,
        }
    )
    return Leaderboard(model_id, delegate, include_virtual, table, False)


# ---------------------------------------------------------------- compare


@dataclass
class Comparison:
    model_ids: list[int]
    include_virtual: bool
    rows: list[dict[str, Any]]
    virtual_only: bool
    defaulted: bool  # model_ids were chosen by the server (the most recent with results)


def recent_models_with_results(db: Session, principal: Principal, limit: int) -> list[int]:
    """The models of the most recent visible jobs with results: public ones from the group
    rollup (a few thousand rows), the caller's private ones from the indexed private rows."""
    g, r = ResultGroupRollup, ResultRollup
    public = (
        select(g.model_id, func.max(g.last_job_id).label("last"))
        .group_by(g.model_id)
        .order_by(func.max(g.last_job_id).desc())
        .limit(limit)
    )
    private = select(r.model_id, func.max(r.last_job_id).label("last")).where(r.public.is_(False))
    if not principal.is_admin:
        private = private.where(principal.mine(r.submitter_id))
    private = private.group_by(r.model_id).order_by(func.max(r.last_job_id).desc()).limit(limit)
    last: dict[int, int] = {}
    for q in (public, private):
        for model_id, job_id in db.execute(q):
            last[int(model_id)] = max(int(job_id), last.get(int(model_id), 0))
    return sorted(sorted(last, key=lambda m: -last[m])[:limit])


def nominal_ram_gb_sql() -> ColumnElement[Any]:
    """tables.nominal_ram_gb in SQL, so phones of one marketing RAM size group in the database."""
    whens = [(Device.ram_mb <= int(g * 1024), literal(float(g))) for g in NOMINAL_RAM_GB]
    beyond = cast((Device.ram_mb + 1023) // 1024, Float)
    return case((Device.ram_mb.is_(None), null()), (Device.ram_mb <= 0, null()), *whens, else_=beyond)


def compare_rows(
    db: Session, principal: Principal, model_ids: list[int], include_virtual: bool
) -> list[dict[str, Any]]:
    """One row per (model, delegate, SoC, RAM, virtual): mean over phones of each phone's mean latency."""
    if not model_ids:
        return []
    groups = _public_groups(db, principal, model_ids, include_virtual)
    if groups is None:
        groups = _exact_groups(db, principal, model_ids, include_virtual)
    return _compare_dicts(db, principal, groups)


def _public_groups(
    db: Session, principal: Principal, model_ids: list[int], include_virtual: bool
) -> list[Any] | None:
    """From result_group_rollups when the viewer sees only public results of these models, else None."""
    private = (
        select(ResultRollup.id)
        .where(
            ResultRollup.model_id.in_(model_ids),
            ResultRollup.public.is_(False),
            true() if principal.is_admin else principal.mine(ResultRollup.submitter_id),
        )
        .limit(1)
    )
    if db.scalar(private) is not None:
        return None
    g = ResultGroupRollup
    q = select(
        g.model_id,
        g.delegate,
        case((g.soc_name == "", null()), else_=g.soc_name).label("soc_name"),
        g.soc_known,
        case((g.ram_gb < 0, null()), else_=g.ram_gb).label("ram_gb"),
        g.is_virtual,
        (g.sum_phone_avg_us / g.phones).label("avg_us"),
        g.phones,
    ).where(g.model_id.in_(model_ids), g.phones > 0)
    if not include_virtual:
        q = q.where(g.is_virtual.is_(False))
    return list(db.execute(q).all())


def _exact_groups(
    db: Session, principal: Principal, model_ids: list[int], include_virtual: bool
) -> list[Any]:
    r = ResultRollup
    per_phone = (
        select(
            r.model_id,
            r.delegate,
            r.device_id,
            (func.sum(r.sum_avg_us) / func.sum(r.n)).label("avg_us"),
        )
        .where(r.model_id.in_(model_ids), rollup.visible(principal))
        .group_by(r.model_id, r.delegate, r.device_id)
    ).subquery()
    ram_gb = nominal_ram_gb_sql().label("ram_gb")
    q = (
        select(
            per_phone.c.model_id,
            per_phone.c.delegate,
            Device.soc_name,
            Device.soc_known,
            ram_gb,
            Device.is_virtual,
            func.avg(per_phone.c.avg_us).label("avg_us"),
            func.count().label("phones"),
        )
        .join(Device, Device.id == per_phone.c.device_id)
        .where(_virtual_filter(include_virtual))
        .group_by(
            per_phone.c.model_id,
            per_phone.c.delegate,
            Device.soc_name,
            Device.soc_known,
            ram_gb,
            Device.is_virtual,
        )
    )
    return list(db.execute(q).all())


def _compare_dicts(db: Session, principal: Principal, groups: list[Any]) -> list[dict[str, Any]]:
    if not groups:
        return []
    info = {
        m.id: m
        for m in db.scalars(
            select(Model).where(Model.id.in_({g.model_id for g in groups}), model_visible(principal))
        )
    }
    rows = []
    for g in groups:
        m = info.get(g.model_id)
        if m is None:
            continue
        rows.append(
            {
                "model_id": g.model_id,
                "model": m.name,
                "inputs": m.inputs,
                "size_bytes": m.size_bytes,
                "delegate": g.delegate,
                "soc_name": g.soc_name,
                "soc_known": g.soc_known,
                "ram_gb": g.ram_gb,
                "is_virtual": g.is_virtual,
                "avg_us": float(g.avg_us),
                "phones": int(g.phones),
            }
        )
    return rows


def comparison(
    db: Session, principal: Principal, model_ids: list[int] | None, include_virtual: bool
) -> Comparison:
    defaulted = not model_ids
    ids = model_ids or recent_models_with_results(db, principal, DEFAULT_COMPARE_MODELS)
    rows = compare_rows(db, principal, ids, include_virtual)
    virtual_only = bool(ids) and not rows and not include_virtual and _has_virtual_results(db, principal, ids)
    return Comparison(ids, include_virtual, rows, virtual_only, defaulted)


# ---------------------------------------------------------------- home


def overview(db: Session, principal: Principal) -> dict[str, int]:
    phones = list_devices(db)
    states = Counter(d.effective_state.value for d in phones)
    active = db.scalar(
        select(func.count()).select_from(Job).where(job_visible(principal), Job.state.in_(ACTIVE_JOB_STATES))
    )
    n_models = db.scalar(select(func.count()).select_from(Model).where(model_visible(principal)))
    n_results = db.scalar(select(func.coalesce(func.sum(ResultRollup.n), 0)).where(rollup.visible(principal)))
    return {
        "phones": len(phones),
        "online": sum(states[s] for s in AVAILABLE_DEVICE_STATES),
        "virtual": sum(1 for d in phones if d.is_virtual),
        "models": int(n_models or 0),
        "active_jobs": int(active or 0),
        "results": int(n_results or 0),
    }
