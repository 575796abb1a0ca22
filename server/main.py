"""The FastAPI application: REST under /api/v1, health probes, dashboard pages."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from contracts.settings import get_settings
from server import queue
from server.api import docs, errors
from server.api.guard import RequestGuard
from server.api.routing import UnitOfWorkRoute
from server.auth.views import router as tokens_router
from server.binaries.views import router as binaries_router
from server.dashboard.placement_views import router as placement_router
from server.dashboard.views import STATIC as DASHBOARD_STATIC
from server.dashboard.views import router as dashboard_router
from server.db import get_engine
from server.devices.views import router as devices_router
from server.inferences.views import numerics_router
from server.inferences.views import router as inferences_router
from server.inferences.worker_views import router as inference_files_router
from server.jobs.agent_views import router as runs_router
from server.jobs.views import router as jobs_router
from server.metrics import render
from server.models.views import router as models_router
from server.reconciler import Reconciler
from server.results.views import compare_router
from server.results.views import router as results_router

health = APIRouter(route_class=UnitOfWorkRoute, tags=["health"])


@health.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _check_db() -> str | None:
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"database unreachable: {type(exc).__name__}"
    return None


def _check_broker() -> str | None:
    try:
        with queue.broker_app().connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"broker unreachable: {type(exc).__name__}"
    return None


def _may_scrape(authorization: str | None) -> bool:
    """FARM_METRICS_TOKEN or an admin token: metrics count private work."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return False
    token = authorization[7:].strip()
    wanted = get_settings().metrics_token
    if wanted and hmac.compare_digest(token.encode(), wanted.encode()):
        return True
    from contracts.vocabulary import Role
    from server.auth.service import authenticate
    from server.db import session_scope

    with session_scope() as db:
        principal = authenticate(db, token)
    return principal is not None and principal.role == Role.admin


@health.get("/metrics", summary="Prometheus metrics (token)", response_class=Response, responses={401: {}})
def metrics(authorization: Annotated[str | None, Header()] = None) -> Response:
    if not _may_scrape(authorization):
        return errors.problem_response(
            401, "Unauthorized", "Send 'Authorization: Bearer <FARM_METRICS_TOKEN or an admin token>'."
        )
    return Response(render(), media_type=CONTENT_TYPE_LATEST)


@health.get("/readyz", summary="Database and broker reachable", responses={503: {}})
def readyz() -> Any:
    problems = [p for p in (_check_db(), _check_broker()) if p]
    if problems:
        return errors.problem_response(503, "Not ready", "; ".join(problems))
    return JSONResponse({"status": "ready"})


def register_configured_binary() -> None:
    """FARM_BENCHMARK_BINARY registers its file at start-up; a bad file is logged, not fatal."""
    from server.binaries.service import register_configured
    from server.db import session_scope

    try:
        with session_scope() as db:
            register_configured(db)
    except Exception as exc:
        logging.getLogger("phonefarm.binaries").error("FARM_BENCHMARK_BINARY not registered: %s", exc)


def create_app(reconcile: bool = True, sender: queue.Sender | None = None) -> FastAPI:
    """The application; `sender` is how runs reach workers (default: Celery, by task name)."""
    queue.configure(sender or queue.CelerySender())
    reconciler = Reconciler() if reconcile else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        register_configured_binary()
        if reconciler:
            reconciler.start()
        yield
        if reconciler:
            reconciler.stopping.set()

    app = FastAPI(
        title="PhoneFarm",
        version="0.1.0",
        description="Benchmark TFLite models on a farm of Android phones.",
        lifespan=lifespan,
        docs_url=None,  # served from the package by server/api/docs.py: no CDN, works offline
        redoc_url=None,
    )
    errors.install(app)
    docs.install(app)
    app.add_middleware(RequestGuard)
    api = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1")
    for router in (
        models_router,
        jobs_router,
        runs_router,
        inference_files_router,
        devices_router,
        results_router,
        compare_router,
        binaries_router,
        tokens_router,
        health,
    ):
        api.include_router(router)
    api.include_router(inferences_router)
    api.include_router(numerics_router)
    app.include_router(api)
    app.include_router(health)
    app.include_router(dashboard_router)
    app.include_router(placement_router)
    app.mount("/static", StaticFiles(directory=DASHBOARD_STATIC), name="static")
    return app


app = create_app()
