"""REST routes for benchmark jobs."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from server.api.deps import DB, MAX_ID, IdPath, Submitter, Viewer
from server.api.routing import UnitOfWorkRoute
from server.jobs import service
from server.jobs.schemas import BenchmarkIn, JobOut

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/benchmarks", tags=["benchmarks"])


@router.post(
    "",
    response_model=JobOut,
    status_code=202,
    responses={
        409: {"description": "The model name is ambiguous, or no benchmark binary fits a chosen phone"},
        422: {},
        429: {"description": "Over a per-user limit"},
    },
    summary="Submit a benchmark",
)
def submit(db: DB, principal: Submitter, body: BenchmarkIn) -> JobOut:
    job = service.create_job(db, principal, body)
    return service.job_view(db, service.get_job(db, principal, job.id))


@router.get("", response_model=list[JobOut], summary="Recent benchmarks")
def list_benchmarks(
    db: DB,
    principal: Viewer,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_ID),
    runs: bool = Query(True, description="Include each job's runs; false: progress counts only (cheap)"),
) -> list[JobOut]:
    jobs = service.list_jobs(db, principal, limit, offset, with_runs=runs)
    return [service.job_view(db, j) for j in jobs] if runs else service.job_summaries(db, jobs)


@router.get("/{job_id}", response_model=JobOut, responses={404: {}}, summary="State, progress and results")
def get_benchmark(
    db: DB, principal: Viewer, job_id: IdPath, raw: bool = Query(False, description="Include raw tool output")
) -> JobOut:
    return service.job_view(db, service.get_job(db, principal, job_id), raw=raw)


@router.get(
    "/{job_id}/runs/{run_id}/output",
    response_class=PlainTextResponse,
    responses={404: {}},
    summary="A run's tool output (head and tail, the size noted when cut)",
)
def run_output(db: DB, principal: Viewer, job_id: IdPath, run_id: IdPath) -> PlainTextResponse:
    return PlainTextResponse(service.run_output(db, principal, job_id, run_id))


@router.post("/{job_id}/cancel", response_model=JobOut, responses={404: {}, 409: {}})
def cancel(db: DB, principal: Submitter, job_id: IdPath) -> JobOut:
    return service.job_view(db, service.cancel_job(db, principal, job_id))
