"""Run state transitions used by workers and the reconciler.

Every transition is a conditional update in the database, so a message delivered
twice, a worker killed mid-run or two reconcilers racing can never produce a second
result: `claim` admits one executor per run (and one run per phone through the
device lease), `complete` stores a result only for a run that is still running.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from contracts.settings import get_settings
from contracts.vocabulary import DeviceState, FailureCause, JobState, RunState
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


class ClaimOutcome(StrEnum):
    claimed = "claimed"
    finished = "finished"  # already terminal: nothing to do
    elsewhere = "elsewhere"  # another live executor holds it
    busy = "busy"  # the phone runs something else: try again soon
    waiting = "waiting"  # the phone is away; the run waits for it or for a twin
    moved = "moved"  # reassigned to another phone (a new message was sent)


@dataclass(frozen=True)
class Claim:
    run_id: int
    job_id: int
    attempt: int
    device_id: int
    serial: str
    is_virtual: bool
    delegate: str
    threads: int
    spec: dict[str, Any]
    model_sha256: str
    model_path: str
    model_size: int


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


def _requeue(db: Session, run: Run) -> tuple[int, str] | None:
    """Put a run back in the queue, on a twin phone if its own is away. Returns what to dispatch."""
    run.state = RunState.queued
    run.heartbeat_at = None
    run.queued_at = utcnow()
    device = db.get(Device, run.device_id)
    if device is not None and runnable(device):
        return run.id, device.host.queue
    twin = _twin(db, run)
    if twin is None:
        return None  # waits for its phone (or a twin) to come back: see `wake_waiting_runs`
    run.device_id = twin.id
    return run.id, twin.host.queue


def claim(db: Session, run_id: int, worker: str) -> tuple[ClaimOutcome, Claim | tuple[int, str] | None]:
    run = _lock_run(db, run_id)
    if run is None or run.state in (RunState.succeeded, RunState.failed, RunState.cancelled):
        return ClaimOutcome.finished, None
    now = utcnow()
    if run.state == RunState.running:
        if run.heartbeat_at and now - run.heartbeat_at < timedelta(seconds=_stale_s()):
            return ClaimOutcome.elsewhere, None
        release_lease(db, run.device_id, run.id)  # its executor died: take over
    device = db.get(Device, run.device_id)
    assert device is not None
    if not runnable(device):
        target = _requeue(db, run)
        db.commit()
        if target and target[0] == run.id and run.device_id != device.id:
            return ClaimOutcome.moved, target
        return ClaimOutcome.waiting, None
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
        return ClaimOutcome.busy, None
    run.state = RunState.running
    run.attempts += 1
    run.started_at = now
    run.heartbeat_at = now
    run.worker = worker
    run.error = None
    job = db.get(Job, run.job_id)
    model = db.get(Model, job.model_id) if job else None
    assert job is not None and model is not None
    refresh_job_state(db, job.id)
    db.commit()
    return ClaimOutcome.claimed, Claim(
        run_id=run.id,
        job_id=job.id,
        attempt=run.attempts,
        device_id=device.id,
        serial=device.serial,
        is_virtual=device.is_virtual,
        delegate=run.delegate,
        threads=run.threads,
        spec=dict(job.spec),
        model_sha256=model.sha256,
        model_path=model.path,
        model_size=model.size_bytes,
    )


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


def complete(db: Session, claim_: Claim, result: dict[str, Any], raw_output: str, command: str) -> bool:
    """Store the result of a run that is still ours. False (and nothing stored) otherwise."""
    run = _lock_run(db, claim_.run_id)
    if run is None or run.state != RunState.running or run.attempts != claim_.attempt:
        release(db, claim_)  # cancelled or taken over: nothing to store, but the phone is free
        return False
    now = utcnow()
    job = db.execute(select(Job.model_id, Job.public, Job.submitter).where(Job.id == run.job_id)).one()
    stored = Result(
        run_id=run.id,
        job_id=run.job_id,
        model_id=job.model_id,
        device_id=run.device_id,
        delegate=run.delegate,
        threads=run.threads,
        **result,
    )
    db.add(stored)
    db.flush()
    rollup.add(db, stored, job.public, job.submitter)  # same transaction as the result
    run.state = RunState.succeeded
    run.finished_at = now
    run.raw_output = raw_output
    run.command = command
    db.execute(update(Device).where(Device.id == run.device_id).values(consecutive_failures=0))
    release_lease(db, run.device_id, run.id)
    refresh_job_state(db, run.job_id)
    db.commit()
    return True


def fail(
    db: Session,
    claim_: Claim,
    error: str,
    raw_output: str | None,
    command: str | None,
    *,
    device_lost: bool,
    cause: FailureCause | None = None,
) -> tuple[int, str] | None:
    """Record a failed attempt. A lost phone means another attempt (maybe on a twin phone);
    a tool failure is final and counts towards the phone's quarantine, unless the host caused
    it (`host_misconfigured`: no binary for the phone's ABI). Returns what to dispatch."""
    run = _lock_run(db, claim_.run_id)
    if run is None or run.state != RunState.running or run.attempts != claim_.attempt:
        release(db, claim_)
        return None
    run.raw_output = raw_output
    run.command = command
    run.error = error
    device = db.get(Device, run.device_id)
    assert device is not None
    release_lease(db, device.id, run.id)
    target = None
    if device_lost:
        device.state = DeviceState.offline.value
        db.flush()
        if run.attempts < get_settings().max_attempts:
            target = _requeue(db, run)
        else:
            run.state = RunState.failed
            run.error = f"{error} (gave up after {run.attempts} attempts)"
            run.finished_at = utcnow()
    else:
        run.state = RunState.failed
        run.finished_at = utcnow()
        if cause != FailureCause.host_misconfigured:  # quarantine is for failures the phone causes
            device.consecutive_failures += 1
            if device.consecutive_failures >= get_settings().quarantine_after:
                device.quarantined = True
    refresh_job_state(db, run.job_id)
    db.commit()
    return target


def release(db: Session, claim_: Claim) -> None:
    """Give the phone back if this run still holds it (a no-op otherwise)."""
    release_lease(db, claim_.device_id, claim_.run_id)
    db.commit()


def reconcile(db: Session) -> list[tuple[int, str]]:
    """Repair what crashes and a lossy broker leave behind. Returns messages to (re)send.

    - running runs whose executor stopped heartbeating go back to the queue (or fail at max attempts);
    - queued runs whose phone is away move to a twin phone when there is one;
    - queued runs not picked up for a while are sent again (the broker may have lost them;
      a duplicate message is harmless, `claim` admits one executor).
    """
    now = utcnow()
    out: list[tuple[int, str]] = []
    stale = now - timedelta(seconds=_stale_s())
    for run in db.scalars(
        select(Run).where(
            Run.state == RunState.running, or_(Run.heartbeat_at.is_(None), Run.heartbeat_at < stale)
        )
    ):
        release_lease(db, run.device_id, run.id)
        if run.attempts >= get_settings().max_attempts:
            run.state = RunState.failed
            run.error = (
                run.error or "worker stopped responding"
            ) + f" (gave up after {run.attempts} attempts)"
            run.finished_at = now
            refresh_job_state(db, run.job_id)
        elif (target := _requeue(db, run)) is not None:
            out.append(target)
    old = now - timedelta(seconds=get_settings().redispatch_s)
    for run in db.scalars(select(Run).where(Run.state == RunState.queued)):
        device = db.get(Device, run.device_id)
        if device is None:
            continue
        if not runnable(device):
            if (twin := _twin(db, run)) is not None:
                run.device_id = twin.id
                run.queued_at = now
                out.append((run.id, twin.host.queue))
        elif run.queued_at < old:
            run.queued_at = now
            out.append((run.id, device.host.queue))
    for job_id in db.scalars(select(Job.id).where(Job.state.in_([JobState.queued, JobState.running]))):
        refresh_job_state(db, job_id)
    db.commit()
    return out


def wake_waiting_runs(db: Session, device_id: int) -> list[tuple[int, str]]:
    """A phone came (back) online: send the runs that were waiting for it."""
    device = db.get(Device, device_id)
    if device is None or not runnable(device):
        return []
    runs = list(db.scalars(select(Run).where(Run.device_id == device_id, Run.state == RunState.queued)))
    now = utcnow()
    for run in runs:
        run.queued_at = now
    return [(r.id, device.host.queue) for r in runs]
