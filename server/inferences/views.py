"""REST routes for inference jobs: an image in, masks and numerics out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from server.api.deps import DB, IdPath, Submitter, Viewer
from server.api.routing import UnitOfWorkRoute
from server.inferences import benchmark_numerics, service
from server.inferences.schemas import InferenceIn, InferenceOut

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/inferences", tags=["inferences"])
numerics_router = APIRouter(route_class=UnitOfWorkRoute, prefix="/benchmarks", tags=["benchmarks"])
PNG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/png": {}}, "description": "A PNG at the image's own size"},
    404: {},
}
SPEC_EXAMPLE = (
    '{"model": "deeplabv3_mnv2_257", "devices": {"socs": ["Snapdragon 845"]}, "delegates": ["cpu", "gpu"]}'
)


@router.post(
    "",
    response_model=InferenceOut,
    status_code=202,
    responses={
        413: {"description": "Image too large"},
        422: {"description": "Not an image, or a model that takes no image"},
    },
    summary="Run an image through a model on phones",
)
def submit(
    db: DB,
    principal: Submitter,
    image: Annotated[UploadFile, File(description="PNG or JPEG")],
    spec: Annotated[str, Form(max_length=20_000, description=f"InferenceIn as JSON, e.g. {SPEC_EXAMPLE}")],
) -> InferenceOut:
    try:
        body = InferenceIn.model_validate_json(spec)
    except ValidationError as exc:
        raise RequestValidationError(
            [dict(e, loc=("spec", *e.get("loc", ()))) for e in exc.errors(include_url=False)]
        ) from None
    inference = service.submit(db, principal, image.file, body)
    return service.view(db, principal, inference.id)


@router.get(
    "/{inference_id}", response_model=InferenceOut, responses={404: {}}, summary="State, masks, numerics"
)
def get_inference(db: DB, principal: Viewer, inference_id: IdPath) -> InferenceOut:
    return service.view(db, principal, inference_id)


@router.get(
    "/{inference_id}/image", responses={200: {"content": {"image/png": {}, "image/jpeg": {}}}, 404: {}}
)
def get_image(db: DB, principal: Viewer, inference_id: IdPath) -> Response:
    data, media = service.image_bytes(db, principal, inference_id)
    return Response(data, media_type=media)


@router.get("/{inference_id}/runs/{run_id}/mask.png", responses=PNG, summary="The run's class mask")
def get_mask(db: DB, principal: Viewer, inference_id: IdPath, run_id: IdPath) -> Response:
    return Response(service.picture(db, principal, inference_id, run_id, "mask"), media_type="image/png")


@router.get(
    "/{inference_id}/runs/{run_id}/overlay.png", responses=PNG, summary="The mask blended on the image"
)
def get_overlay(db: DB, principal: Viewer, inference_id: IdPath, run_id: IdPath) -> Response:
    return Response(service.picture(db, principal, inference_id, run_id, "overlay"), media_type="image/png")


@numerics_router.get(
    "/{job_id}/numerics",
    response_model=list[dict[str, Any]],
    responses={404: {}},
    summary="Each delegate's outputs against the CPU's on the same phone (jobs with numerics: true)",
)
def get_benchmark_numerics(db: DB, principal: Viewer, job_id: IdPath) -> list[dict[str, Any]]:
    return benchmark_numerics.job_numerics(db, principal, job_id)
