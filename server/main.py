"""The FastAPI application: REST under /api/v1, health probes, dashboard pages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from starlette.types import ASGIApp, Receive, Scope, Send

from contracts.settings import get_settings
from server.api import docs, errors
from server.binaries.views import router as binaries_router
from server.dashboard.placement_views import router as placement_router
from server.dashboard.views import STATIC as DASHBOARD_STATIC
from server.dashboard.views import router as dashboard_router
from server.db import get_engine
from server.devices.views import router as devices_router
from server.inferences.views import numerics_router
from server.inferences.views import router as inferences_router
from server.jobs.views import router as jobs_router
from server.metrics import render
from server.models.views import router as models_router
from server.reconciler import Reconciler
from server.results.views import compare_router
from server.results.views import router as results_router

health = APIRouter(tags=["health"])


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
    from worker.celery_app import celery_app

    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"broker unreachable: {type(exc).__name__}"
    return None


@health.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics() -> Response:
    return Response(render(), media_type=CONTENT_TYPE_LATEST)


@health.get("/readyz", summary="Database and broker reachable", responses={503: {}})
def readyz() -> Any:
    problems = [p for p in (_check_db(), _check_broker()) if p]
    if problems:
        return errors.problem_response(503, "Not ready", "; ".join(problems))
    return JSONResponse({"status": "ready"})


JSON_LIMIT = 1 << 20


class BodyLimit:
    """Refuse oversized requests before reading them: 1 MiB for JSON, the model limit for uploads."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            length = headers.get(b"content-length", b"")
            multipart = headers.get(b"content-type", b"").startswith(b"multipart/")
            limit = ((get_settings().max_upload_mb << 20) + (1 << 20)) if multipart else JSON_LIMIT
            if length.isdigit() and int(length) > limit:
                resp = errors.problem_response(
                    413, "Request too large", f"The request body is larger than {limit >> 20} MiB."
                )
                await resp(scope, receive, send)
                return
        await self.app(scope, receive, send)


def register_configured_binary() -> None:
    """FARM_BENCHMARK_BINARY registers its file at start-up; a bad file is logged, not fatal."""
    from server.binaries.service import register_configured
    from server.db import session_scope

    try:
        with session_scope() as db:
            register_configured(db)
    except Exception as exc:
        logging.getLogger("phonefarm.binaries").error("FARM_BENCHMARK_BINARY not registered: %s", exc)


def create_app(reconcile: bool = True) -> FastAPI:
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
    app.add_middleware(BodyLimit)
    api = APIRouter(prefix="/api/v1")
    for router in (
        models_router,
        jobs_router,
        devices_router,
        results_router,
        compare_router,
        binaries_router,
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
