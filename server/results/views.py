"""REST route for results: JSON pages, or CSV with `Accept: text/csv`."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from contracts.vocabulary import Delegate
from contracts.wire import NO_NUL
from server.api import csv_cells
from server.api.deps import DB, MAX_ID, IdQuery, Viewer
from server.api.routing import UnitOfWorkRoute
from server.jobs.schemas import ResultOut
from server.results import service
from server.results.compare import CompareOut, compare_jobs

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/results", tags=["results"])
compare_router = APIRouter(route_class=UnitOfWorkRoute, tags=["results"])
IdPathQ = Annotated[int, Query(ge=1, le=MAX_ID, description="Benchmark id")]


@compare_router.get("/compare", response_model=CompareOut, responses={404: {}}, summary="Job b against job a")
def compare(db: DB, principal: Viewer, a: IdPathQ, b: IdPathQ) -> CompareOut:
    return compare_jobs(db, principal, a, b)


class ResultRow(ResultOut):
    """A result with the names a reader needs to make sense of it without more requests."""

    model: str
    device: str | None
    soc: str | None
    is_virtual: bool


class ResultPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[ResultRow]


@router.get(
    "",
    response_model=ResultPage,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON page, or CSV with Accept: text/csv"}},
)
def list_results(
    request: Request,
    db: DB,
    principal: Viewer,
    model: str | None = Query(
        None, description="Model id, name, zoo name or sha256 prefix", max_length=200, pattern=NO_NUL
    ),
    soc: str | None = Query(None, max_length=128, pattern=NO_NUL),
    device: IdQuery = None,
    delegate: Delegate | None = None,
    job: IdQuery = None,
    limit: int = Query(100, ge=1, le=10000),
    offset: int = Query(0, ge=0, le=MAX_ID),
) -> Any:
    total, rows = service.search(
        db,
        principal,
        model=model,
        soc=soc,
        device=device,
        delegate=delegate.value if delegate else None,
        job=job,
        limit=limit,
        offset=offset,
    )
    if "text/csv" in request.headers.get("accept", ""):
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=service.COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(csv_cells.row(r) for r in rows)
        return Response(
            buf.getvalue(),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="results.csv"'},
        )
    return ResultPage(
        total=total, limit=limit, offset=offset, items=[ResultRow.model_validate(r) for r in rows]
    )
