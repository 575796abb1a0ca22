"""The reconciler's tick is one unit of work: it repairs rows, commits, and only then sends runs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from contracts.vocabulary import DeviceState, RunState
from server.auth.models import User
from server.db import utcnow
from server.devices.models import Device, FarmHost
from server.jobs.models import Job, Run
from server.models.models import Model
from server.reconciler import tick


def _run(db: Session, run_id: int) -> Run:
    run = db.get(Run, run_id)
    assert run is not None
    return run


def _farm(db: Session, *, state: DeviceState = DeviceState.online) -> tuple[Device, Device, Run]:
    host = FarmHost(name="hostA", queue="host.hostA", last_heartbeat=utcnow())
    phone, twin = (
        Device(serial=serial, host=host, soc_name="Snapdragon 845", soc_known=True, state=state.value)
        for serial in ("phone-1", "phone-2")
    )
    model = Model(sha256="0" * 64, name="m.tflite", size_bytes=1, path="/dev/null")
    db.add_all([host, phone, twin, model])
    db.flush()
    job = Job(model_id=model.id, spec={}, submitter_user=User(name="alice"), public=True)
    db.add(job)
    db.flush()
    run = Run(job_id=job.id, device_id=phone.id, original_device_id=phone.id, delegate="cpu", threads=4)
    db.add(run)
    db.commit()
    return phone, twin, run


def test_a_queued_run_nobody_picked_up_is_sent_again_after_the_commit(db: Session, sent) -> None:
    _, _, run = _farm(db)
    run.queued_at = utcnow() - timedelta(hours=1)
    db.commit()
    assert tick() == 1
    assert sent == [(run.id, "host.hostA")]
    db.expire_all()
    assert _run(db, run.id).queued_at > utcnow() - timedelta(minutes=5)


def test_a_run_whose_phone_went_away_moves_to_its_twin(db: Session, sent) -> None:
    phone, twin, run = _farm(db)
    phone.state = DeviceState.offline.value
    db.commit()
    tick()
    db.expire_all()
    assert _run(db, run.id).device_id == twin.id
    assert sent == [(run.id, "host.hostA")]


def test_a_fresh_queued_run_is_left_alone(db: Session, sent) -> None:
    _, _, run = _farm(db)
    assert tick() == 0
    assert sent == []
    assert _run(db, run.id).state == RunState.queued


def _stale_runs(db: Session, phone: Device, run: Run, n: int) -> list[Run]:
    runs = [run] + [
        Run(job_id=run.job_id, device_id=phone.id, original_device_id=phone.id, delegate="cpu", threads=4)
        for _ in range(n - 1)
    ]
    db.add_all(runs)
    db.flush()
    for r in runs:
        r.queued_at = utcnow() - timedelta(hours=1)
    db.commit()
    return runs


def test_an_idle_phone_with_many_forgotten_runs_gets_one_message_and_drains_the_rest(
    db: Session, sent
) -> None:
    phone, _, run = _farm(db)
    runs = _stale_runs(db, phone, run, 5)
    assert tick() == 1
    assert sent == [(min(r.id for r in runs), "host.hostA")]
    db.expire_all()
    assert all(_run(db, r.id).queued_at > utcnow() - timedelta(minutes=5) for r in runs)


def test_the_queued_runs_of_a_busy_phone_are_left_to_its_worker(db: Session, sent) -> None:
    phone, _, run = _farm(db)
    _stale_runs(db, phone, run, 3)
    phone.lease_run_id = run.id
    phone.lease_expires_at = utcnow() + timedelta(minutes=1)
    db.commit()
    assert tick() == 0
    assert sent == []


def test_a_phone_whose_lease_expired_counts_as_idle(db: Session, sent) -> None:
    phone, _, run = _farm(db)
    _stale_runs(db, phone, run, 2)
    phone.lease_run_id = run.id
    phone.lease_expires_at = utcnow() - timedelta(minutes=1)
    db.commit()
    assert tick() == 1
