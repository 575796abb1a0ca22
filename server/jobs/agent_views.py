"""The worker's side of a run, over HTTP: claim, heartbeat, complete, fail, release.

Workers on farm hosts hold an agent token (bound to their host) and never the database:
these endpoints apply server/jobs/lifecycle.py's conditional updates for them and enqueue
whatever messages a transition produces (a run moved to a twin on another host, say);
server/queue.py sends them once the request commits.
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from contracts.runs import (
    BeatReply,
    ClaimIn,
    ClaimReply,
    CompleteIn,
    CompleteReply,
    FailIn,
    FailReply,
    RunKey,
)
from contracts.vocabulary import ClaimOutcome
from server.api.deps import DB, Agent, IdPath, check_host
from server.api.errors import NotFound
from server.api.routing import UnitOfWorkRoute
from server.auth.service import Principal
from server.devices.models import Device, FarmHost
from server.inferences.worker_views import attach_numerics
from server.jobs import lifecycle
from server.jobs.models import Run
from server.queue import enqueue

router = APIRouter(route_class=UnitOfWorkRoute, tags=["runs (workers)"])


def _device_host(db: DB, device_id: int) -> str:
    """The phone's host name, in one query (these endpoints are on every run's path)."""
    name = db.scalar(
        select(FarmHost.name).join(Device, Device.host_id == FarmHost.id).where(Device.id == device_id)
    )
    if name is None:
        raise NotFound("device", device_id)
    return name


def _check_key(db: DB, agent: Principal, run_id: int, key: RunKey) -> None:
    key.run_id = run_id
    check_host(agent, _device_host(db, key.device_id))


def _reply(db: DB, result: lifecycle.ClaimResult) -> ClaimReply:
    if result.target is not None:
        enqueue(db, [result.target])  # sent when the request's unit of work commits
    return ClaimReply(outcome=result.outcome, claim=result.claim)


@router.post(
    "/runs/{run_id}/claim",
    response_model=ClaimReply,
    responses={403: {}, 404: {}},
    summary="Worker: take a run (and its phone's lease) if it still needs running",
)
def claim(db: DB, agent: Agent, run_id: IdPath, body: ClaimIn) -> ClaimReply:
    host = db.scalar(
        select(FarmHost.name)
        .join(Device, Device.host_id == FarmHost.id)
        .join(Run, Run.device_id == Device.id)
        .where(Run.id == run_id)
    )
    if host is None:
        raise NotFound("run", run_id)
    check_host(agent, host)
    if body.host is not None and body.host != host:
        # a stale message (sent before the run moved to a twin on another host): that host's
        # worker has its own; running it here would find no such phone and blame a healthy one
        return ClaimReply(outcome=ClaimOutcome.elsewhere)
    return _reply(db, lifecycle.claim(db, run_id, body.worker))


@router.post(
    "/devices/{device_id}/claim-next",
    response_model=ClaimReply,
    responses={403: {}, 404: {}},
    summary="Worker: take the phone's next queued run (outcome 'finished' when there is none)",
)
def claim_next(db: DB, agent: Agent, device_id: IdPath, body: ClaimIn) -> ClaimReply:
    host = _device_host(db, device_id)
    check_host(agent, host)
    if body.host is not None and body.host != host:
        return ClaimReply(outcome=ClaimOutcome.elsewhere)
    return _reply(db, lifecycle.claim_next(db, device_id, body.worker))


@router.post(
    "/runs/{run_id}/heartbeat",
    response_model=BeatReply,
    responses={403: {}, 404: {}},
    summary="Worker: the run is still being measured (keeps it and the phone's lease)",
)
def heartbeat(db: DB, agent: Agent, run_id: IdPath, body: RunKey) -> BeatReply:
    _check_key(db, agent, run_id, body)
    return BeatReply(alive=lifecycle.beat(db, run_id, body.device_id))


@router.post(
    "/runs/{run_id}/complete",
    response_model=CompleteReply,
    responses={403: {}, 404: {}},
    summary="Worker: store the run's result (once; a run no longer ours stores nothing)",
)
def complete(db: DB, agent: Agent, run_id: IdPath, body: CompleteIn) -> CompleteReply:
    _check_key(db, agent, run_id, body)
    if isinstance(body.result.env.get("numerics_output"), dict):  # else there is nothing to attach
        run = db.get(Run, run_id)
        if run is not None:
            attach_numerics(run.job_id, body, body.result.env)
    return CompleteReply(stored=lifecycle.complete(db, body, body.result, body.raw_output, body.command))


@router.post(
    "/runs/{run_id}/fail",
    response_model=FailReply,
    responses={403: {}, 404: {}},
    summary="Worker: record a failed attempt (a lost phone sends the run to it again or to a twin)",
)
def fail(db: DB, agent: Agent, run_id: IdPath, body: FailIn) -> FailReply:
    _check_key(db, agent, run_id, body)
    target = lifecycle.fail(
        db, body, body.error, body.raw_output, body.command, device_lost=body.device_lost, cause=body.cause
    )
    if target is not None:
        enqueue(db, [target])
    return FailReply(retrying=target is not None)


@router.post(
    "/runs/{run_id}/release",
    status_code=204,
    responses={403: {}, 404: {}},
    summary="Worker: give the phone back without a result (the run was cancelled)",
)
def release(db: DB, agent: Agent, run_id: IdPath, body: RunKey) -> None:
    _check_key(db, agent, run_id, body)
    lifecycle.release(db, body)
