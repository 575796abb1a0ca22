"""Dashboard pages about placement: the model page (predicted vs actual fallbacks) and op-level compare.

Why a router of its own: these pages read op-profile data (server/dashboard/placement.py)
and the upload-time GPU prediction (server/models/gpu_compat.py), not the timing tables the
other pages share; the job page's placement section is rendered by views.job_page through
the `placement` template globals registered here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from contracts.vocabulary import ACTIVE_JOB_STATES
from server.api.deps import DB, MAX_ID, IdPath, Viewer
from server.api.routing import UnitOfWorkRoute
from server.dashboard import placement
from server.dashboard.views import templates
from server.models import gpu_compat
from server.models.service import get_model

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)
Accelerator = Literal["gpu", "nnapi", "xnnpack", "cpu"]


def _placement_section(runs: list[object]) -> dict[str, object]:
    """For job.html: rows and one top-ops chart per row (capped: a job can have many runs)."""
    rows = placement.job_rows(runs)
    charts = [
        Markup(placement.top_ops_figure(r, f"ops-{r.run_id}"))  # noqa: S704 - plotly's own HTML
        for r in rows[:24]
        if r.top_ops
    ]
    return {"rows": rows, "charts": charts}


templates.env.globals.update(placement_section=_placement_section)


@router.get("/models/{model_id}", response_class=HTMLResponse)
def model_page(request: Request, db: DB, principal: Viewer, model_id: IdPath) -> HTMLResponse:
    model = get_model(db, principal, model_id)
    prediction = gpu_compat.cached(model.path, model.sha256)
    actual = placement.soc_fallbacks(db, principal, model.id)
    return templates.TemplateResponse(
        request, "model.html", {"nav": "models", "m": model, "prediction": prediction, "actual": actual}
    )


@router.get("/compare/ops", response_class=HTMLResponse)
def compare_ops_page(
    request: Request,
    db: DB,
    principal: Viewer,
    model: Annotated[int, Query(ge=1, le=MAX_ID)],
    a: Annotated[int, Query(ge=1, le=MAX_ID, description="Device id")],
    b: Annotated[int, Query(ge=1, le=MAX_ID, description="Device id")],
    delegate: Accelerator = "gpu",
) -> HTMLResponse:
    m = get_model(db, principal, model)
    cmp = placement.op_compare(db, principal, m, a, b, delegate)
    fig = placement.op_compare_figure(cmp)
    return templates.TemplateResponse(
        request,
        "compare_ops.html",
        {"nav": "compare", "cmp": cmp, "chart": Markup(fig) if fig else None},  # noqa: S704
    )


@router.get("/inferences/{inference_id}", response_class=HTMLResponse)
def inference_page(request: Request, db: DB, principal: Viewer, inference_id: IdPath) -> HTMLResponse:
    """The image and, per phone, each delegate's overlay side by side with its agreement with the CPU."""
    from server.inferences import service as inference_service

    view = inference_service.view(db, principal, inference_id)
    phones: dict[int, list[object]] = {}
    for r in view.runs:
        phones.setdefault(r.device_id, []).append(r)
    return templates.TemplateResponse(
        request,
        "inference.html",
        {
            "nav": "jobs",
            "inf": view,
            "phones": list(phones.values()),
            "refresh": 2 if view.state in ACTIVE_JOB_STATES else None,
        },
    )
