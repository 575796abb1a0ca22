"""Submitting, reading and cancelling benchmark jobs (the API and the CLI call these)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from sqlalchemy import ColumnElement, func, or_, select, true, update
from sqlalchemy.orm import Session, selectinload

from contracts.failures import min_trial_seconds
from contracts.settings import get_settings
from contracts.vocabulary import (
    ACTIVE_RUN_STATES,
    TERMINAL_JOB_STATES,
    TERMINAL_RUN_STATES,
    JobState,
    RunState,
)
from server import counters
from server.api.errors import NotFound, ProblemError
from server.auth.service import Principal
from server.binaries.service import check_devices, needs_flex
from server.db import utcnow
from server.devices.models import Device, FarmHost
from server.devices.service import runnable
from server.jobs.models import Job, Run
from server.jobs.schemas import BenchmarkIn, DeviceSelector, JobOut, Progress, ResultOut, RunOut
from server.models.service import find_model
from server.queue import enqueue
from server.results.models import Result


def check_host_needs(db: Session, agent: Principal, what: str, *needed: ColumnElement[bool]) -> None:
    """403 unless a queued or running run on a phone of the agent's host needs `what`.

    Why: a host-bound agent token is what a farm host keeps on disk; if that host is
    compromised it must not read every private model and image of the farm, only the files
    its own phones are about to run. `needed` narrows the runs (Job.model_id == ..., Run.job_id
    == ...). Admins and unbound agent tokens (the embedded farm's) keep full access.
    """
    if agent.host is None or agent.is_admin:
        return
    active = (
        select(Run.id)
        .join(Job, Job.id == Run.job_id)
        .join(Device, Device.id == Run.device_id)
        .join(FarmHost, FarmHost.id == Device.host_id)
        .where(FarmHost.name == agent.host, Run.state.in_(ACTIVE_RUN_STATES), *needed)
        .limit(1)
    )
    if db.scalar(active) is None:
        raise ProblemError(
            403,
            "Forbidden",
            f"The agent token of host {agent.host!r} may fetch {what} only while a queued or running run "
            f"on one of that host's phones needs it, and none does: fetch it from the host that runs it, "
            "or with an admin or unbound agent token.",
        )


def available_socs(devices: list[Device]) -> list[str]:
    """The SoC names a selector can use now (runnable phones only)."""
    return sorted({d.soc_name for d in devices if d.soc_name and runnable(d)})


def soc_matches(wanted: str, devices: list[Device]) -> list[Device]:
    """Phones a --soc value names: marketing name, codename or chip id (ro.board.platform), any
    case; failing those, a prefix of exactly one marketing name ("Snapdragon 8 Gen 2" for
    "Snapdragon 8 Gen 2 for Galaxy"). An ambiguous prefix matches nothing."""
    key = wanted.strip().casefold()
    if not key:
        return []
    exact = [
        d
        for d in devices
        if key
        in {(d.soc_name or "").casefold(), (d.soc_codename or "").casefold(), (d.platform or "").casefold()}
    ]
    if exact:
        return exact
    names = {d.soc_name for d in devices if d.soc_name and d.soc_name.casefold().startswith(key)}
    return [d for d in devices if d.soc_name in names] if len(names) == 1 else []


def select_devices(db: Session, selector: DeviceSelector) -> list[Device]:
    """Runnable phones matching the selector, or a 422 naming what matched nothing."""
    devices = list(db.scalars(select(Device).order_by(Device.id)))
    chosen = devices
    if not selector.include_virtual:
        chosen = [d for d in chosen if not d.is_virtual]
    misses = []
    if selector.ids:
        missing = sorted(set(selector.ids) - {d.id for d in chosen})
        if missing:
            misses.append(f"ids {missing}")
        chosen = [d for d in chosen if d.id in selector.ids]
    if selector.serials:
        # a phone is named by its hardware serial or by its adb address on its host
        named = {d.serial for d in chosen} | {d.address for d in chosen if d.address}
        missing_s = sorted(set(selector.serials) - named)
        if missing_s:
            misses.append(f"serials {missing_s}")
        chosen = [d for d in chosen if {d.serial, d.address} & set(selector.serials)]
    if selector.socs:
        matches = {s: soc_matches(s, chosen) for s in selector.socs}
        unmatched = [s for s, found in matches.items() if not found]
        if unmatched:
            misses.append(f"socs {unmatched}")
        ids = {d.id for found in matches.values() for d in found}
        chosen = [d for d in chosen if d.id in ids]
    if selector.tags:
        unmatched_t = [t for t in selector.tags if not any(t in (d.tags or []) for d in chosen)]
        if unmatched_t:
            misses.append(f"tags {unmatched_t}")
        chosen = [d for d in chosen if set(selector.tags) & set(d.tags or [])]
    ready = [d for d in chosen if runnable(d)]
    if ready and misses and not selector.allow_partial:
        raise ProblemError(
            422,
            "No matching phone",
            "Nothing in the farm matches " + "; ".join(misses) + "; fix or drop it, or allow a partial "
            "choice (allow_partial, farm submit --allow-partial).",
            available_socs=available_socs(devices),
        )
    if not ready:
        if misses:
            detail = "Nothing in the farm matches " + "; ".join(misses) + "."
        elif chosen:
            states = Counter(d.effective_state.value for d in chosen)
            detail = (
                f"{len(chosen)} phone(s) match {selector.describe()} but none can run now "
                f"({', '.join(f'{n} {s}' for s, n in states.items())})."
            )
        else:
            detail = f"No phone in the farm matches {selector.describe()}."
        raise ProblemError(422, "No matching phone", detail, available_socs=available_socs(devices))
    return ready


def check_fits(spec: dict[str, object]) -> None:
    """Refuse a spec that cannot finish within the run timeout (422 naming both numbers)."""
    settings = get_settings()
    least = min_trial_seconds(spec)
    if least >= settings.run_timeout_s:
        raise ProblemError(
            422,
            "Benchmark cannot finish in time",
            f"Each benchmark_model invocation of this spec needs at least {least:g} s (warmup_min_secs + "
            f"min_secs, or run_delay x runs), but the farm stops it after FARM_RUN_TIMEOUT_S="
            f"{settings.run_timeout_s:g} s: lower min_secs/run_delay/num_runs.",
        )
    trials = spec.get("trials", 1)
    cooldown = spec.get("cooldown_s", 0.0)
    n = int(trials) if isinstance(trials, int) else 1
    rest = float(cooldown) if isinstance(cooldown, int | float) else 0.0
    budget = n * least + (n - 1) * rest
    if budget > settings.run_budget_s:
        raise ProblemError(
            422,
            "Benchmark too long",
            f"Each run of this spec needs at least {budget:g} s ({n} trials of {least:g} s plus "
            f"cooldowns), more than the per-run budget FARM_RUN_BUDGET_S={settings.run_budget_s:g} s.",
        )


def check_quota(db: Session, principal: Principal, new_runs: int) -> None:
    """Per-user limits: runs per job and queued runs in all, answered with 429."""
    settings = get_settings()
    if new_runs > settings.max_runs_per_job:
        raise ProblemError(
            429,
            "Too many runs",
            f"This benchmark would create {new_runs} runs (phones x delegates x threads); one job may "
            f"create at most {settings.max_runs_per_job} (FARM_MAX_RUNS_PER_JOB): choose fewer phones or settings.",
        )
    pending = db.scalar(
        select(func.count())
        .select_from(Run)
        .join(Job, Job.id == Run.job_id)
        .where(principal.mine(Job.submitter_id), Run.state.in_(ACTIVE_RUN_STATES))
    )
    if (pending or 0) + new_runs > settings.max_queued_runs_per_user:
        raise ProblemError(
            429,
            "Too many queued runs",
            f"You have {pending} runs queued or running and this benchmark adds {new_runs}; the limit per "
            f"user is {settings.max_queued_runs_per_user} (FARM_MAX_QUEUED_RUNS_PER_USER). Wait for some "
            "to finish or cancel a benchmark.",
        )


def create_job(db: Session, principal: Principal, req: BenchmarkIn) -> Job:
    """Add the job and its runs; the runs are sent to their hosts when the caller commits."""
    spec = req.model_dump(mode="json", exclude={"model", "public"})
    check_fits(spec)
    model = find_model(db, principal, str(req.model))
    devices = select_devices(db, req.devices)
    check_devices(db, devices, needs_flex(model.operators))  # 409 naming the ABI and the fix
    check_quota(db, principal, len(devices) * len(req.delegates) * len(req.threads))
    # a job inherits its model's privacy (a public job shows its model's name and hash)
    # unless the submitter says otherwise
    public = req.public if req.public is not None else model.public
    job = Job(model_id=model.id, spec=spec, submitter_id=principal.user_id, public=public)
    db.add(job)
    db.flush()
    runs = [
        Run(job_id=job.id, device_id=d.id, original_device_id=d.id, delegate=delegate.value, threads=threads)
        for d in devices
        for delegate in req.delegates
        for threads in req.threads
    ]
    db.add_all(runs)
    db.flush()
    counters.submitted(db, [r.device_id for r in runs])
    queues = {d.id: d.host.queue for d in devices}
    enqueue(db, [(r.id, queues[r.device_id]) for r in runs])
    return job


def job_visible(principal: Principal) -> ColumnElement[bool]:
    """Which jobs (and so which runs and results) a caller sees, as a WHERE clause.

    The one rule, used by the API, the dashboard and the results queries: public jobs and
    the caller's own; everything for an admin. `can_see` is the same rule for one loaded job.
    """
    if principal.is_admin:
        return true()
    return or_(Job.public, principal.mine(Job.submitter_id))


def can_see(job: Job, principal: Principal) -> bool:
    return job.public or principal.is_admin or principal.owns(job.submitter_id)


def get_job(db: Session, principal: Principal, job_id: int) -> Job:
    job = db.get(Job, job_id, options=[selectinload(Job.runs)])
    if job is None or not can_see(job, principal):
        raise NotFound("benchmark", job_id)
    return job


def list_jobs(
    db: Session, principal: Principal, limit: int = 50, offset: int = 0, with_runs: bool = True
) -> list[Job]:
    query = (
        select(Job)
        .options(selectinload(Job.submitter_user), *([selectinload(Job.runs)] if with_runs else []))
        .where(job_visible(principal))
        .order_by(Job.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(db.scalars(query))


def run_output(db: Session, principal: Principal, job_id: int, run_id: int) -> str:
    """The stored (bounded) output of one run of a job the caller may see."""
    job = get_job(db, principal, job_id)
    output = db.scalar(select(Run.raw_output).where(Run.id == run_id, Run.job_id == job.id))
    if output is None and not any(r.id == run_id for r in job.runs):
        raise NotFound("run", run_id)
    return output or ""


def progress_from_counts(counts: Mapping[str, int]) -> Progress:
    """A job's progress from its runs counted by state (the API and the dashboard both use this)."""
    return Progress(
        total=sum(counts.values()),
        queued=counts.get(RunState.queued, 0),
        running=counts.get(RunState.running, 0),
        succeeded=counts.get(RunState.succeeded, 0),
        failed=counts.get(RunState.failed, 0),
        cancelled=counts.get(RunState.cancelled, 0),
        done=sum(counts.get(s, 0) for s in TERMINAL_RUN_STATES),
    )


def progress(runs: list[Run]) -> Progress:
    return progress_from_counts(Counter(r.state for r in runs))


def job_view(db: Session, job: Job, raw: bool = False) -> JobOut:
    results = {r.run_id: r for r in db.scalars(select(Result).where(Result.job_id == job.id))}
    runs = []
    for run in job.runs:
        out = RunOut.model_validate(run)
        if run.id in results:
            out.result = ResultOut.model_validate(results[run.id])
        if raw:
            out.raw_output = run.raw_output
        runs.append(out)
    return _job_out(job, progress(job.runs), runs)


def _job_out(job: Job, counted: Progress, runs: list[RunOut] | None = None) -> JobOut:
    """One job's view: its own fields, its progress and (in the full view) its runs."""
    return JobOut(
        id=job.id,
        model_id=job.model_id,
        state=job.state,
        spec=job.spec,
        submitter=job.submitter,
        public=job.public,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        progress=counted,
        runs=runs or [],
    )


def job_summaries(db: Session, jobs: list[Job]) -> list[JobOut]:
    """Jobs with their progress counted in the database and no runs: a list of 20 jobs of a
    500-phone farm is 10,000 runs with their results otherwise (seconds of the API's CPU)."""
    counts: dict[int, dict[str, int]] = {j.id: {} for j in jobs}
    for job_id, state, n in db.execute(
        select(Run.job_id, Run.state, func.count())
        .where(Run.job_id.in_(list(counts)))
        .group_by(Run.job_id, Run.state)
    ):
        counts[job_id][state] = n
    return [_job_out(job, progress_from_counts(counts[job.id])) for job in jobs]


def cancel_job(db: Session, principal: Principal, job_id: int) -> Job:
    job = get_job(db, principal, job_id)
    if not (principal.is_admin or principal.owns(job.submitter_id)):
        raise ProblemError(403, "Forbidden", "Only the submitter or an admin can cancel this benchmark.")
    if job.state in TERMINAL_JOB_STATES:
        raise ProblemError(409, "Already finished", f"Benchmark {job_id} is already {job.state}.")
    now = utcnow()
    # locked first, so the counters move by exactly the runs this UPDATE cancels
    active = db.execute(
        select(Run.state, Run.device_id)
        .where(Run.job_id == job.id, Run.state.in_(ACTIVE_RUN_STATES))
        .with_for_update()
    ).all()
    db.execute(
        update(Run)
        .where(Run.job_id == job.id, Run.state.in_(ACTIVE_RUN_STATES))
        .values(state=RunState.cancelled, finished_at=now, error="cancelled by " + principal.name)
    )
    for state, device_id in active:
        counters.finished(db, (state, device_id), RunState.cancelled)
    job.state = JobState.cancelled
    job.finished_at = now
    db.flush()
    db.refresh(job)
    return job


def refresh_job_state(db: Session, job_id: int) -> None:
    """Derive a job's state from its runs (called after every run transition).

    The job row is locked first: two workers finishing a job's last runs at once would
    otherwise each count the other's run as unfinished, and the job would stay running.
    FOR NO KEY UPDATE, not FOR UPDATE: inserting a result already holds a KEY SHARE lock
    on the job (the foreign key), and FOR UPDATE would deadlock two such transactions.
    """
    job = db.get(Job, job_id, with_for_update={"key_share": True}, populate_existing=True)
    if job is None or job.state == JobState.cancelled:
        return
    counts = dict(
        db.execute(select(Run.state, func.count()).where(Run.job_id == job_id).group_by(Run.state)).all()
    )
    total = sum(counts.values())
    done = sum(counts.get(s, 0) for s in TERMINAL_RUN_STATES)
    if done < total:
        if counts.get(RunState.running) or done:
            job.state = JobState.running
            job.started_at = job.started_at or utcnow()
        return
    ok = counts.get(RunState.succeeded, 0)
    job.state = JobState.succeeded if ok == total else JobState.failed if ok == 0 else JobState.partial
    job.finished_at = job.finished_at or utcnow()
