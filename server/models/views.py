"""REST routes for models: thin calls into server.models.service."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Response, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict

from contracts.wire import NO_NUL
from server.api.deps import DB, Agent, IdPath, Submitter, Viewer
from server.api.errors import ProblemError
from server.api.routing import UnitOfWorkRoute
from server.jobs.models import Job
from server.jobs.service import check_host_needs
from server.models import service
from server.models.models import Model

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/models", tags=["models"])


class ModelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sha256: str
    name: str
    size_bytes: int
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    operators: list[str]
    owner: str | None
    public: bool
    zoo_name: str | None
    created_at: datetime


@router.post(
    "",
    response_model=ModelOut,
    status_code=201,
    responses={
        200: {"description": "You uploaded the same bytes before"},
        403: {"description": "Only admins publish zoo names"},
        409: {"description": "The zoo name is taken"},
        413: {},
        422: {},
    },
    summary="Upload a .tflite model",
)
def upload_model(
    db: DB,
    principal: Submitter,
    response: Response,
    file: Annotated[UploadFile, File(description="A TensorFlow Lite flatbuffer (.tflite)")],
    name: Annotated[str | None, Form(max_length=200, pattern=NO_NUL)] = None,
    public: Annotated[bool, Form()] = True,
    zoo_name: Annotated[str | None, Form(max_length=128, pattern=NO_NUL)] = None,
) -> ModelOut:
    model, created = service.store_model(
        db, file.file, name or file.filename or "model.tflite", principal, public=public, zoo_name=zoo_name
    )
    if not created:
        response.status_code = 200
    return ModelOut.model_validate(model)


@router.get("", response_model=list[ModelOut], summary="Models you can see")
def list_models(db: DB, principal: Viewer) -> list[ModelOut]:
    return [ModelOut.model_validate(m) for m in service.list_models(db, principal)]


@router.get("/{model_id}", response_model=ModelOut, responses={404: {}})
def get_model(db: DB, principal: Viewer, model_id: IdPath) -> ModelOut:
    return ModelOut.model_validate(service.get_model(db, principal, model_id))


@router.get(
    "/{model_id}/file",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, 403: {}, 404: {}, 410: {}},
    summary="Agent: the model's bytes, streamed (workers cache them by sha256)",
)
def model_file(db: DB, agent: Agent, model_id: IdPath) -> FileResponse:
    """A host-bound agent gets a private model only while its host has a run that needs it."""
    model = db.get(Model, model_id)
    if model is None:
        raise ProblemError(404, "Not found", f"No model with id {model_id}.")
    if not model.public:
        check_host_needs(db, agent, f"private model {model_id}", Job.model_id == model.id)
    path = Path(model.path)
    if not path.is_file():
        raise ProblemError(
            410, "Model file missing", f"The API host lost {path.name}: upload the model again."
        )
    return FileResponse(
        path,
        media_type="application/octet-stream",
        filename=f"{model.sha256}.tflite",
        headers={"X-Content-SHA256": model.sha256, "ETag": f'"{model.sha256}"'},
    )
