"""Dashboard pages: server-rendered HTML over the same services and visibility as the API.

Why server-rendered: a device farm's dashboard must work on a machine with no internet
and no front-end build; Jinja2 templates plus plotly figures rendered to HTML on the
server need no JavaScript of our own (live pages refresh with a meta tag), and the
tables exported as CSV and Markdown come from the very frame the page shows.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import plotly
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from server.api.deps import DB, MAX_ID, IdPath, Viewer
from server.api.routing import UnitOfWorkRoute
from server.dashboard import figures, placement, service, tables
from server.inferences import benchmark_numerics
from server.results.compare import compare_jobs

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
PLOTLY_URL = "/assets/plotly.min.js"

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)
templates = Jinja2Templates(directory=str(TEMPLATES))

DelegateChoice = Literal["best", "cpu", "gpu", "nnapi", "xnnpack"]
ModelList = Annotated[
    str | None, Query(max_length=2000, pattern=r"^[0-9, ]*$", description="Comma-separated model ids")
]
IncludeVirtual = Annotated[bool, Query(description="Include virtual phones (0|1)")]
ModelPicks = Annotated[list[int] | None, Query(max_length=100, description="Model ids from the picker")]


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "–"


def _ms(us: float | None, digits: int = 2) -> str:
    return "–" if us is None else f"{us / 1000:.{digits}f}"


def _mb(size: int | None) -> str:
    return "–" if size is None else f"{size / 1e6:.2f}"


templates.env.filters.update(when=_when, ms=_ms, mb=_mb, cell=tables.format_cell, shape=tables.input_label)
templates.env.globals.update(PLOTLY_URL=PLOTLY_URL)


def _page(request: Request, name: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context)


@router.get(PLOTLY_URL)
def plotly_js() -> FileResponse:
    """plotly.js from the installed plotly package, so pages work offline."""
    return FileResponse(
        PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: DB, principal: Viewer) -> HTMLResponse:
    return _page(request, "home.html", nav="home", stats=service.overview(db, principal))


@router.get("/devices", response_class=HTMLResponse)
def devices_page(request: Request, db: DB, principal: Viewer) -> HTMLResponse:
    return _page(request, "devices.html", nav="devices", rows=service.devices(db))


@router.get("/models", response_class=HTMLResponse)
def models_page(request: Request, db: DB, principal: Viewer) -> HTMLResponse:
    return _page(request, "models.html", nav="models", rows=service.models(db, principal))


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, db: DB, principal: Viewer) -> HTMLResponse:
    rows = service.jobs(db, principal)
    live = any(r.active for r in rows)
    return _page(request, "jobs.html", nav="jobs", rows=rows, refresh=3 if live else None)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, db: DB, principal: Viewer, job_id: IdPath) -> HTMLResponse:
    detail = service.job_detail(db, principal, job_id)
    charts: list[Markup] = []
    if detail.results:
        charts.append(Markup(figures.to_html(figures.latency_bars(detail.runs), "latency")))  # noqa: S704
        speedup = figures.speedup_bars(detail.runs)
        if speedup is not None:
            charts.append(Markup(figures.to_html(speedup, "speedup")))  # noqa: S704
        charts.append(Markup(figures.to_html(figures.trial_boxes(detail.runs), "trials")))  # noqa: S704
        sustained = figures.sustained_lines(detail.runs)
        if sustained is not None:
            charts.append(Markup(figures.to_html(sustained, "sustained")))  # noqa: S704
    numerics = benchmark_numerics.job_numerics(db, principal, job_id) if detail.spec.get("numerics") else []
    return _page(
        request,
        "job.html",
        nav="jobs",
        d=detail,
        charts=charts,
        numerics=numerics,
        refresh=3 if detail.job.active else None,
    )


@router.get("/compare/jobs", response_class=HTMLResponse)
def compare_jobs_page(
    request: Request,
    db: DB,
    principal: Viewer,
    a: Annotated[int, Query(ge=1, le=MAX_ID)],
    b: Annotated[int, Query(ge=1, le=MAX_ID)],
) -> HTMLResponse:
    return _page(request, "compare_jobs.html", nav="jobs", r=compare_jobs(db, principal, a, b))


@router.get("/leaderboard", response_class=HTMLResponse)
def leaderboard_page(
    request: Request,
    db: DB,
    principal: Viewer,
    model: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    delegate: DelegateChoice = "best",
    include_virtual: IncludeVirtual = False,
) -> HTMLResponse:
    model_id = model or service.latest_model_with_results(db, principal)
    board = service.leaderboard(db, principal, model_id, delegate, include_virtual)
    return _page(
        request,
        "leaderboard.html",
        nav="leaderboard",
        board=board,
        choices=service.model_choices(db, principal),
        delegates=["best", *service.DELEGATES],
    )


def _model_ids(models: str | None) -> list[int] | None:
    if not models:
        return None
    ids = [int(p) for p in models.replace(" ", "").split(",") if p]
    return sorted(dict.fromkeys(i for i in ids if 0 < i < 2**31)) or None


def _comparison(db: DB, principal: Viewer, models: str | None, include_virtual: bool) -> service.Comparison:
    return service.comparison(db, principal, _model_ids(models), include_virtual)


def _query(cmp: service.Comparison) -> str:
    return f"models={','.join(map(str, cmp.model_ids))}&include_virtual={int(cmp.include_virtual)}"


@router.get("/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    db: DB,
    principal: Viewer,
    models: ModelList = None,
    include_virtual: IncludeVirtual = False,
    model: ModelPicks = None,
) -> HTMLResponse:
    picked = ",".join(str(m) for m in model or [])
    cmp = _comparison(db, principal, ",".join(p for p in (models, picked) if p) or None, include_virtual)
    frame = tables.result_frame(cmp.rows)
    table = tables.comparison_frame(frame)
    speedup = tables.speedup_frame(frame)
    return _page(
        request,
        "compare.html",
        nav="compare",
        cmp=cmp,
        table=table,
        cells=tables.table_cells(table, tables.row_colours(table)),
        speedup=speedup,
        speedup_cells=tables.table_cells(speedup, tables.speedup_colours(speedup), prefix="×"),
        query=_query(cmp),
        choices=service.model_choices(db, principal),
        share=placement.delegated_share(db, principal, cmp.model_ids, include_virtual),
    )


@router.get("/compare.csv")
def compare_csv(
    db: DB, principal: Viewer, models: ModelList = None, include_virtual: IncludeVirtual = False
) -> Response:
    cmp = _comparison(db, principal, models, include_virtual)
    body = tables.to_csv(tables.comparison_frame(cmp.rows))
    return Response(
        body, media_type="text/csv", headers={"Content-Disposition": 'attachment; filename="compare.csv"'}
    )


@router.get("/compare.md")
def compare_md(
    db: DB, principal: Viewer, models: ModelList = None, include_virtual: IncludeVirtual = False
) -> Response:
    cmp = _comparison(db, principal, models, include_virtual)
    frame = tables.result_frame(cmp.rows)
    body = tables.to_markdown(tables.comparison_frame(frame))
    speedup = tables.speedup_frame(frame)
    if not speedup.empty:
        body += "\nGPU speed-up over CPU (CPU ms / GPU ms):\n\n" + tables.to_markdown(speedup)
    return Response(
        body,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="compare.md"'},
    )
