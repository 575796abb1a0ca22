"""REST routes for benchmark jobs."""

from __future__ import annotations

from fastapi import APIRouter, Query

from server.api.deps import DB, MAX_ID, IdPath, Submitter, Viewer
from server.jobs import service
from server.jobs.schemas import BenchmarkIn, JobOut
from worker.celery_app import dispatch

router = APIRouter(prefix="/benchmarks", tags=["benchmarks"])


@router.post(
    "",
    response_model=JobOut,
    status_code=202,
    responses={409: {"description": "No benchmark binary fits a chosen phone"}, 422: {}},
    summary="Submit a benchmark",
)
def submit(db: DB, principal: Submitter, body: BenchmarkIn) -> JobOut:
    job = service.create_job(db, principal, body, dispatch)
    return service.job_view(db, service.get_job(db, principal, job.id))


@router.get("", response_model=list[JobOut], summary="Recent benchmarks")
def list_benchmarks(
    db: DB, principal: Viewer, limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=MAX_ID)
) -> list[JobOut]:
    return [service.job_view(db, j) for j in service.list_jobs(db, principal, limit, offset)]


@router.get("/{job_id}", response_model=JobOut, responses={404: {}}, summary="State, progress and results")
def get_benchmark(
    db: DB, principal: Viewer, job_id: IdPath, raw: bool = Query(False, description="Include raw tool output")
) -> JobOut:
    return service.job_view(db, service.get_job(db, principal, job_id), raw=raw)


@router.post("/{job_id}/cancel", response_model=JobOut, responses={404: {}, 409: {}})
def cancel(db: DB, principal: Submitter, job_id: IdPath) -> JobOut:
    return service.job_view(db, service.cancel_job(db, principal, job_id))
