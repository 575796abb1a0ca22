"""Run state transitions used by workers and the reconciler.

Every transition is a conditional update in the database, so a message delivered
twice, a worker killed mid-run or two reconcilers racing can never produce a second
result: `claim` admits one executor per run (and one run per phone through the
device lease), `complete` stores a result only for a run that is still running.

Quarantine invariants (see contracts/failures.py for the rule on one run):
- a phone's `consecutive_failures` counts only runs whose `blame` is `phone`; every failed
  run records its `failure_kind` and `blame`, so the count can be explained and corrected;
- a job counts at most once against a phone (its other failures there are `repeat`);
- the same failure kind on a second phone for the same model is the model's: that run is
  `model`, and the earlier `phone` runs of that model and kind are re-blamed `model` and
  taken off their phones' counts (a conditional UPDATE that never goes below zero; an
  automatic quarantine whose count falls under the threshold is lifted);
- raw output is stored bounded (contracts.output.bound), its full size in `output_bytes`.

Every transition also records its deltas in server/counters.py (what /metrics reads), applied
by the same commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from contracts.failures import Blame, blame_for, kind_of, max_trial_seconds
from contracts.jobs import BenchmarkSpec
from contracts.output import bound
from contracts.runs import BinaryRef, Claim, FileRef, ResultRecord, RunKey
from contracts.settings import get_settings
from contracts.vocabulary import (
    ACTIVE_JOB_STATES,
    ClaimOutcome,
    DeviceState,
    FailureCause,
    JobState,
    RunState,
)
from server import counters
from server.binaries.service import list_binaries, needs_flex
from server.db import utcnow
from server.devices.models import Device
from server.devices.service import release_lease, runnable
from server.jobs.models import Job, Run
from server.jobs.service import refresh_job_state
from server.models.models import Model
from server.results import rollup
from server.results.models import Result


def _stale_s() -> float:
    return get_settings().stale_run_s


class Target(NamedTuple):
    """A message to send: this run, to this host's queue."""

    run_id: int
    queue: str


@dataclass(frozen=True)
class ClaimResult:
    outcome: ClaimOutcome
    claim: Claim | None = None
    target: Target | None = None  # `moved`: the message the caller must send


def _lock_run(db: Session, run_id: int) -> Run | None:
    return db.scalar(select(Run).where(Run.id == run_id).with_for_update())


def _twin(db: Session, run: Run) -> Device | None:
    """Another runnable phone with the same SoC, the least loaded first."""
    device = db.get(Device, run.device_id)
    if device is None or not device.soc_name:
        return None
    load = (
        select(func.count())
        .select_from(Run)
        .where(Run.device_id == Device.id, Run.state.in_([RunState.queued, RunState.running]))
        .scalar_subquery()
    )
    candidates = db.scalars(
        select(Device)
        .where(
            Device.soc_name == device.soc_name, Device.id != device.id, Device.is_virtual == device.is_virtual
        )
        .order_by(load, Device.id)
    )
    return next((d for d in candidates if runnable(d)), None)


def _requeue(db: Session, run: Run) -> Target | None:
    """Put a run back in the queue, on a twin phone if its own is away. Returns what to dispatch."""
    before = (run.state, run.device_id)
    run.state = RunState.queued
    run.heartbeat_at = None
    run.queued_at = utcnow()
    device = db.get(Device, run.device_id)
    target = None
    if device is not None and runnable(device):
        target = Target(run.id, device.host.queue)
    elif (twin := _twin(db, run)) is not None:
        run.device_id = twin.id
        target = Target(run.id, twin.host.queue)
    # else it waits for its phone (or a twin) to come back: see `wake_waiting_runs`
    counters.requeued(db, before, run.device_id)
    return target


def claim(db: Session, run_id: int, worker: str, *, fair: bool = True) -> ClaimResult:
    """Take a run and its phone's lease; the phone's fair turn when the run is only queued.

    The broker delivers a host's messages in submission order, so when a message finds its
    phone free, claiming exactly its run would let a flood of one user's messages set the
    order (every time a phone frees up, the next message in the flood takes it). Instead a
    queued run's message claims the phone's fair next run (`next_run`), which may be another
    run: the reply's claim says which. Nothing is lost or run twice: the other run is locked
    (SKIP LOCKED: a run another claim is taking is left to it, and this one is claimed) and taken
    with the same conditional updates; the message's own run stays queued, and the worker that
    claims drains the phone (claim-next) until its queue is empty, so it takes that run in turn
    (and the reconciler re-sends any queued run left waiting). `fair=False` for claim-next,
    which already chose by `next_run`.
    """
    run = _lock_run(db, run_id)
    if run is None or run.state in (RunState.succeeded, RunState.failed, RunState.cancelled):
        return ClaimResult(ClaimOutcome.finished)
    now = utcnow()
    if run.state == RunState.running:
        if run.heartbeat_at and now - run.heartbeat_at < timedelta(seconds=_stale_s()):
            return ClaimResult(ClaimOutcome.elsewhere)
        release_lease(db, run.device_id, run.id)  # its executor died: take over
    device = db.get(Device, run.device_id)
    assert device is not None
    if not runnable(device):
        target = _requeue(db, run)
        db.commit()
        if target and target.run_id == run.id and run.device_id != device.id:
            return ClaimResult(ClaimOutcome.moved, target=target)
        return ClaimResult(ClaimOutcome.waiting)
    if device.lease_run_id not in (None, run.id) and _leased(device, now):
        # busy, as the UPDATE below would find, without waiting on the phone's row: with runs of
        # every job queued on every phone, most messages meet a phone whose drain loop holds it
        # (and takes this run next), and their UPDATEs queued behind its heartbeats and results
        db.rollback()
        return ClaimResult(ClaimOutcome.busy)
    if fair and run.state == RunState.queued:
        run = _fair_turn(db, run)
    leased = db.execute(
        update(Device)
        .where(
            Device.id == device.id,
            or_(
                Device.lease_run_id.is_(None),
                Device.lease_run_id == run.id,
                Device.lease_expires_at < now,
            ),
        )
        .values(lease_run_id=run.id, lease_expires_at=now + timedelta(seconds=_stale_s()))
    )
    if leased.rowcount == 0:  # type: ignore[attr-defined]
        db.rollback()
        return ClaimResult(ClaimOutcome.busy)
    counters.started(db, (run.state, run.device_id), device.id)
    # compare-and-set on what this claim read: a claim that read the run before another one
    # committed (SQLite takes no row locks; a fair turn picks a run another message names)
    # must not take it a second time, and the lease alone cannot tell (it names the same run)
    took = db.execute(
        update(Run)
        .where(Run.id == run.id, Run.state == run.state, Run.attempts == run.attempts)
        .values(
            state=RunState.running,
            attempts=run.attempts + 1,
            started_at=now,
            heartbeat_at=now,
            worker=worker,
            error=None,
        )
    )
    if took.rowcount == 0:  # type: ignore[attr-defined]
        db.rollback()
        return ClaimResult(ClaimOutcome.elsewhere)
    job = db.get(Job, run.job_id)
    model = db.get(Model, job.model_id) if job else None
    assert job is not None and model is not None
    # what refresh_job_state would conclude with a run now running, without locking the job
    # row and counting its runs on every claim (all phones claim runs of the same big job)
    db.execute(
        update(Job)
        .where(Job.id == job.id, Job.state == JobState.queued)
        .values(state=JobState.running, started_at=func.coalesce(Job.started_at, now))
    )
    db.commit()
    return ClaimResult(
        ClaimOutcome.claimed,
        Claim(
            run_id=run.id,
            job_id=job.id,
            attempt=run.attempts,
            device_id=device.id,
            serial=device.address or device.serial,
            is_virtual=device.is_virtual,
            delegate=run.delegate,
            threads=run.threads,
            spec=BenchmarkSpec.from_stored(job.spec),
            model=FileRef(sha256=model.sha256, size=model.size_bytes, path=f"/models/{model.id}/file"),
            needs_flex=needs_flex(model.operators or []),
            binaries=[
                BinaryRef(
                    sha256=b.sha256,
                    abi=b.abi,
                    flex=b.flex,
                    id=b.id,
                    size=b.size_bytes,
                    tool_version=b.tool_version,
                    flags=b.flags,
                )
                for b in list_binaries(db)
            ],
        ),
    )


def claim_next(db: Session, device_id: int, worker: str) -> ClaimResult:
    """The phone's next queued run, claimed: how a worker drains a phone without the broker."""
    next_id = next_run(db, device_id)  # fair across submitters (round robin), then oldest
    if next_id is None:
        return ClaimResult(ClaimOutcome.finished)
    return claim(db, next_id, worker, fair=False)


def _fair_turn(db: Session, run: Run) -> Run:
    """The queued run this run's phone should take now (locked), or `run` itself."""
    pick = next_run(db, run.device_id)
    if pick is None or pick == run.id:
        return run
    other = db.scalar(
        select(Run)
        .where(Run.id == pick, Run.state == RunState.queued, Run.device_id == run.device_id)
        .with_for_update(skip_locked=True)
    )
    return other or run


def beat(db: Session, run_id: int, device_id: int) -> bool:
    """Keep the run and the phone's lease alive. False when the run was cancelled or taken over."""
    now = utcnow()
    alive = db.execute(
        update(Run).where(Run.id == run_id, Run.state == RunState.running).values(heartbeat_at=now)
    )
    db.execute(
        update(Device)
        .where(Device.id == device_id, Device.lease_run_id == run_id)
        .values(lease_expires_at=now + timedelta(seconds=_stale_s()))
    )
    db.commit()
    return bool(alive.rowcount)  # type: ignore[attr-defined]


def complete(db: Session, claim_: RunKey, result: ResultRecord, raw_output: str, command: str) -> bool:
    """Store the result of a run that is still ours. False (and nothing stored) otherwise."""
    run = _lock_run(db, claim_.run_id)
    if run is None or run.state != RunState.running or run.attempts != claim_.attempt:
        release(db, claim_)  # cancelled or taken over: nothing to store, but the phone is free
        return False
    now = utcnow()
    job = db.execute(select(Job.model_id, Job.public, Job.submitter_id).where(Job.id == run.job_id)).one()
    stored = Result(
        run_id=run.id,
        job_id=run.job_id,
        model_id=job.model_id,
        device_id=run.device_id,
        delegate=run.delegate,
        threads=run.threads,
        **result.model_dump(),
    )
    db.add(stored)
    db.flush()
    rollup.add(db, stored, job.public, job.submitter_id)  # same transaction as the result
    counters.bump(db, counters.RESULTS)
    counters.finished(db, (run.state, run.device_id), RunState.succeeded, None, run.started_at, now)
    run.state = RunState.succeeded
    run.finished_at = now
    run.raw_output, run.output_bytes = bound(raw_output)
    run.command = command
    db.execute(update(Device).where(Device.id == run.device_id).values(consecutive_failures=0))
    release_lease(db, run.device_id, run.id)
    refresh_job_state(db, run.job_id)
    db.commit()
    return True


def fail(
    db: Session,
    claim_: RunKey,
    error: str,
    raw_output: str | None,
    command: str | None,
    *,
    device_lost: bool,
    cause: FailureCause | None = None,
) -> Target | None:
    """Record a failed attempt. A lost phone means another attempt (maybe on a twin phone);
    a tool failure is final, and counts towards the phone's quarantine only when the phone
    caused it (`_blame`; `cause=host_misconfigured`, no binary for the phone's ABI, never
    does). Returns what to dispatch."""
    run = _lock_run(db, claim_.run_id)
    if run is None or run.state != RunState.running or run.attempts != claim_.attempt:
        release(db, claim_)
        return None
    run.raw_output, run.output_bytes = bound(raw_output)
    run.command = command
    run.error = error[:4000]
    device = db.get(Device, run.device_id)
    assert device is not None
    release_lease(db, device.id, run.id)
    before = (run.state, run.device_id)
    target = None
    if device_lost:
        device.state = DeviceState.offline.value
        db.flush()
        if run.attempts < get_settings().max_attempts:
            target = _requeue(db, run)
        else:
            run.state = RunState.failed
            run.error = f"{run.error} (gave up after {run.attempts} attempts)"
            run.finished_at = utcnow()
            counters.finished(db, before, RunState.failed, run.blame)
    else:
        run.state = RunState.failed
        run.finished_at = utcnow()
        run.failure_kind = kind_of(error)
        blame = FailureCause.host_misconfigured if cause == FailureCause.host_misconfigured else None
        run.blame = (blame or _blame(db, run)).value
        counters.finished(db, before, RunState.failed, run.blame)
        if run.blame == Blame.phone:  # quarantine is for failures the phone causes
            db.execute(
                update(Device)
                .where(Device.id == device.id)
                .values(consecutive_failures=Device.consecutive_failures + 1)
            )
            db.refresh(device)
            if device.consecutive_failures >= get_settings().quarantine_after:
                device.quarantined = True
    refresh_job_state(db, run.job_id)
    db.commit()
    return target


def _blame(db: Session, run: Run) -> Blame:
    """Whose failure this is, using the other runs of the same model as evidence."""
    timeout = get_settings().run_timeout_s
    spec = db.scalar(select(Job.spec).where(Job.id == run.job_id)) or {}
    blame = blame_for(run.failure_kind or "unknown", spec_can_time_out=max_trial_seconds(spec) >= timeout)
    if blame != Blame.phone:
        return blame
    model_id = select(Job.model_id).where(Job.id == run.job_id).scalar_subquery()
    same_model = select(Job.id).where(Job.model_id == model_id)
    same_failure = (
        Run.job_id.in_(same_model),
        Run.state == RunState.failed,
        Run.failure_kind == run.failure_kind,
        Run.id != run.id,
    )
    elsewhere = list(
        db.execute(
            select(Run.id, Run.device_id, Run.blame).where(*same_failure, Run.device_id != run.device_id)
        )
    )
    if elsewhere:
        _absolve(db, [(rid, did) for rid, did, b in elsewhere if b == Blame.phone])
        return Blame.model
    counted_here = db.scalar(
        select(func.count())
        .select_from(Run)
        .where(Run.job_id == run.job_id, Run.device_id == run.device_id, Run.blame == Blame.phone)
    )
    return Blame.repeat if counted_here else Blame.phone


def _absolve(db: Session, runs: list[tuple[int, int]]) -> None:
    """Earlier failures turned out to be the model's: take them off their phones' counts."""
    threshold = get_settings().quarantine_after
    for run_id, device_id in runs:
        moved = db.execute(
            update(Run).where(Run.id == run_id, Run.blame == Blame.phone).values(blame=Blame.model.value)
        )
        if not moved.rowcount:  # type: ignore[attr-defined]
            continue  # another transaction absolved it already
        db.execute(
            update(Device)
            .where(Device.id == device_id, Device.consecutive_failures > 0)
            .values(consecutive_failures=Device.consecutive_failures - 1)
        )
        db.execute(
            update(Device)
            .where(Device.id == device_id, Device.quarantined, Device.consecutive_failures < threshold)
            .values(quarantined=False)
        )


def release(db: Session, claim_: RunKey) -> None:
    """Give the phone back if this run still holds it (a no-op otherwise)."""
    release_lease(db, claim_.device_id, claim_.run_id)
    db.commit()


def _leased(device: Device, now: datetime) -> bool:
    expires = device.lease_expires_at
    return device.lease_run_id is not None and expires is not None and expires >= now


def reconcile(db: Session) -> list[Target]:
    """Repair what crashes and a lossy broker leave behind. Returns messages to (re)send once committed.

    - running runs whose executor stopped heartbeating go back to the queue (or fail at max attempts);
    - queued runs whose phone is away move to a twin phone when there is one;
    - an idle phone whose queued runs were not picked up for a while gets one of them sent
      again (the broker may have lost them; a duplicate message is harmless, `claim` admits
      one executor, and the run's worker drains the phone's other runs).
    """
    now = utcnow()
    out: list[Target] = []
    stale = now - timedelta(seconds=_stale_s())
    for run in db.scalars(
        select(Run).where(
            Run.state == RunState.running, or_(Run.heartbeat_at.is_(None), Run.heartbeat_at < stale)
        )
    ):
        release_lease(db, run.device_id, run.id)
        if run.attempts >= get_settings().max_attempts:
            counters.finished(db, (run.state, run.device_id), RunState.failed, run.blame)
            run.state = RunState.failed
            run.error = (
                run.error or "worker stopped responding"
            ) + f" (gave up after {run.attempts} attempts)"
            run.finished_at = now
            refresh_job_state(db, run.job_id)
        elif (target := _requeue(db, run)) is not None:
            out.append(target)
    old = now - timedelta(seconds=get_settings().redispatch_s)
    # per phone, not per run: a saturated farm has thousands of queued runs, and sending each
    # again every `redispatch_s` flooded the broker and the workers with claims answered "busy"
    waiting = db.execute(
        select(Run.device_id, func.min(Run.queued_at))
        .where(Run.state == RunState.queued)
        .group_by(Run.device_id)
    ).all()
    for device_id, oldest in waiting:
        device = db.get(Device, device_id)
        if device is None:
            continue
        if not runnable(device):
            for run in db.scalars(
                select(Run).where(Run.device_id == device_id, Run.state == RunState.queued)
            ):
                if (twin := _twin(db, run)) is not None:
                    counters.moved(db, (run.state, run.device_id), (run.state, twin.id))
                    run.device_id = twin.id
                    run.queued_at = now
                    out.append(Target(run.id, twin.host.queue))
        elif oldest < old and not _leased(device, now):
            # an idle phone with runs nobody picked up (the broker may have lost them): one
            # message is enough, the worker that claims it drains the phone's queue (claim-next);
            # a leased phone's worker drains it anyway
            db.execute(
                update(Run)
                .where(Run.device_id == device_id, Run.state == RunState.queued, Run.queued_at < old)
                .values(queued_at=now)
            )
            if (first := next_run(db, device_id)) is not None:
                out.append(Target(first, device.host.queue))
    for job_id in db.scalars(select(Job.id).where(Job.state.in_(ACTIVE_JOB_STATES))):
        refresh_job_state(db, job_id)
    return out  # the caller's unit of work commits (server/reconciler.tick), then sends `out`


SERVED_LOOKBACK = 500
"""How many of a phone's latest runs say whom it served last (round robin in `next_run`)."""


def next_run(db: Session, device_id: int) -> int | None:
    """The queued run this phone should take next: fair across users, then oldest first.

    Round robin by owner (the submitting user's id, so one person's several tokens count
    once): the user this phone served longest ago (or never) goes first, so a user with
    7,000 queued runs cannot make another user's one run wait behind them. Within a
    user, the oldest run first.
    """
    firsts = dict(
        db.execute(
            select(Job.submitter_id, func.min(Run.id))
            .join(Job, Job.id == Run.job_id)
            .where(Run.device_id == device_id, Run.state == RunState.queued)
            .group_by(Job.submitter_id)
        ).all()
    )
    if not firsts:
        return None
    # the phone's latest runs only (ix_runs_device_started): a submitter it has not served within
    # them counts as never served, so a claim's cost does not grow with the phone's history
    recent = (
        select(Run.job_id, Run.started_at)
        .where(Run.device_id == device_id, Run.started_at.is_not(None))
        .order_by(Run.started_at.desc())
        .limit(SERVED_LOOKBACK)
        .subquery()
    )
    served: dict[int | None, datetime] = dict(
        db.execute(
            select(Job.submitter_id, func.max(recent.c.started_at))
            .select_from(recent)
            .join(Job, Job.id == recent.c.job_id)
            .where(Job.submitter_id.in_([o for o in firsts if o is not None]))
            .group_by(Job.submitter_id)
        ).all()
    )
    never = utcnow() - timedelta(days=365 * 100)
    owner = min(firsts, key=lambda o: (served.get(o) or never, firsts[o]))
    return int(firsts[owner])


def wake_waiting_runs(db: Session, device_id: int) -> list[Target]:
    """A phone came (back) online: send the runs that were waiting for it."""
    device = db.get(Device, device_id)
    if device is None or not runnable(device):
        return []
    runs = list(db.scalars(select(Run).where(Run.device_id == device_id, Run.state == RunState.queued)))
    now = utcnow()
    for run in runs:
        run.queued_at = now
    return [Target(r.id, device.host.queue) for r in runs]
