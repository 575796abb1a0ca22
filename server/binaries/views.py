"""REST routes for benchmark binaries: thin calls into server.binaries.service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Response, UploadFile
from fastapi.responses import FileResponse

from contracts.runs import CapabilitiesIn
from contracts.vocabulary import Abi
from contracts.wire import NO_NUL
from server.api.deps import DB, Admin, Agent, Viewer
from server.api.routing import UnitOfWorkRoute
from server.binaries import service
from server.binaries.schemas import BinaryOut

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/binaries", tags=["binaries"])
ShaPath = Annotated[str, Path(pattern=r"^[0-9a-f]{8,64}$", description="sha256 or a prefix of 8+ digits")]


@router.get("", response_model=list[BinaryOut], summary="Registered benchmark_model binaries, newest first")
def list_binaries(db: DB, principal: Viewer) -> list[BinaryOut]:
    return [BinaryOut.model_validate(b) for b in service.list_binaries(db)]


@router.post(
    "",
    response_model=BinaryOut,
    status_code=201,
    responses={200: {"description": "The same bytes were added before"}, 413: {}, 422: {}},
    summary="Register a benchmark_model binary (ABI read from its ELF header)",
)
def add_binary(
    db: DB,
    principal: Admin,
    response: Response,
    file: Annotated[UploadFile, File(description="TensorFlow Lite's benchmark_model for one Android ABI")],
    abi: Annotated[Abi | None, Form(description="Must agree with the ELF header when given")] = None,
    flex: Annotated[bool, Form(description="Built with Flex (Select TF ops)")] = False,
    source_url: Annotated[str | None, Form(max_length=500, pattern=NO_NUL)] = None,
) -> BinaryOut:
    binary, created = service.store_binary(
        db, file.file, abi=abi, flex=flex, source_url=source_url, added_by=principal.name
    )
    if not created:
        response.status_code = 200
    return BinaryOut.model_validate(binary)


@router.get("/{sha256}", response_model=BinaryOut, responses={404: {}, 409: {}})
def get_binary(db: DB, principal: Viewer, sha256: ShaPath) -> BinaryOut:
    return BinaryOut.model_validate(service.find_binary(db, sha256))


@router.delete(
    "/{sha256}", response_model=BinaryOut, responses={404: {}, 409: {}}, summary="Unregister a binary"
)
def delete_binary(db: DB, principal: Admin, sha256: ShaPath) -> BinaryOut:
    return BinaryOut.model_validate(service.remove_binary(db, sha256))


FullShaPath = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="The binary's sha256")]


@router.get(
    "/{sha256}/file",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, 404: {}, 410: {}},
    summary="Agent: the binary's bytes, streamed (workers cache them by sha256)",
)
def binary_file(db: DB, _: Agent, sha256: FullShaPath) -> FileResponse:
    return FileResponse(
        service.binary_file(db, sha256),
        media_type="application/octet-stream",
        headers={"X-Content-SHA256": sha256, "ETag": f'"{sha256}"'},
    )


@router.post(
    "/{sha256}/capabilities",
    status_code=204,
    responses={404: {}},
    summary="Agent: what the binary's --help (or a run) said: its flags and version",
)
def capabilities(db: DB, _: Agent, sha256: FullShaPath, body: CapabilitiesIn) -> None:
    service.find_binary(db, sha256)
    if body.flags is not None:
        service.record_probe(db, sha256, body.version, body.flags)
    elif body.version:
        service.record_version(db, sha256, body.version)
