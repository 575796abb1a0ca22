"""The worker's side of inferences and numerics, over HTTP: the input in, the outputs back.

A farm host's worker has no access to the server's files: it fetches an inference's input
tensor by sha256 (`GET /inferences/{id}/input`) into its cache, and uploads what a phone
wrote (`POST /runs/{id}/inference-output`, `POST /runs/{id}/numerics-output`). Uploads are
bounded by the size the model declares, and only the host that holds the run may send them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import FileResponse

from contracts.runs import CompleteReply, RunKey
from server.api.deps import DB, Agent, IdPath, check_host
from server.api.errors import NotFound, ProblemError
from server.api.routing import UnitOfWorkRoute
from server.auth.service import Principal
from server.devices.models import Device
from server.inferences import render, service
from server.inferences.models import Inference
from server.jobs.models import Job, Run
from server.jobs.service import check_host_needs
from server.models.models import Model

router = APIRouter(route_class=UnitOfWorkRoute, tags=["runs (workers)"])
CHUNK = 1 << 20
MAX_ID = 2**31 - 1

Attempt = Annotated[int, Form(ge=1, le=MAX_ID)]
DeviceId = Annotated[int, Form(ge=1, le=MAX_ID)]


def _run_of(db: DB, agent: Principal, run_id: int, attempt: int, device_id: int) -> tuple[Run, RunKey]:
    run = db.get(Run, run_id)
    device = db.get(Device, device_id)
    if run is None or device is None or run.device_id != device_id:
        raise NotFound("run on that phone", run_id)
    check_host(agent, device.host.name)
    return run, RunKey(run_id=run_id, attempt=attempt, device_id=device_id)


def _expected_bytes(db: DB, run: Run) -> int:
    job = db.get(Job, run.job_id)
    model = db.get(Model, job.model_id) if job else None
    if model is None:
        raise NotFound("model of run", run.id)
    expected = render.expected_size(list(model.outputs))
    if expected is None:
        raise ProblemError(
            422, "Dynamic outputs", "The model's outputs have no fixed size: nothing to upload."
        )
    return expected


def _save(upload: UploadFile, target: Path, expected: int) -> None:
    """Write the upload, refusing (422) anything but the model's declared output size."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    size = 0
    with partial.open("wb") as out:
        while chunk := upload.file.read(CHUNK):
            size += len(chunk)
            if size > expected:
                break
            out.write(chunk)
    if size != expected:
        partial.unlink(missing_ok=True)
        raise ProblemError(
            422,
            "Wrong output size",
            f"The model declares {expected} output bytes; the upload had {'more' if size > expected else size}.",
        )
    partial.replace(target)


@router.get(
    "/inferences/{inference_id}/input",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, 403: {}, 404: {}, 410: {}},
    summary="Worker: an inference's input tensor (workers cache it by sha256)",
)
def inference_input(db: DB, agent: Agent, inference_id: IdPath) -> FileResponse:
    inference = db.get(Inference, inference_id)
    if inference is None:
        raise NotFound("inference", inference_id)
    check_host_needs(db, agent, f"the input of inference {inference_id}", Run.job_id == inference.job_id)
    path = Path(inference.input_path)
    if not path.is_file():
        raise ProblemError(
            410, "Input missing", f"The API host lost {path.name}: submit the inference again."
        )
    return FileResponse(path, media_type="application/octet-stream", filename=f"input-{inference_id}.bin")


@router.post(
    "/runs/{run_id}/inference-output",
    response_model=CompleteReply,
    responses={403: {}, 404: {}, 422: {}},
    summary="Worker: an inference run's output tensor bytes; stores them and completes the run",
)
def inference_output(
    db: DB,
    agent: Agent,
    run_id: IdPath,
    attempt: Attempt,
    device_id: DeviceId,
    file: Annotated[UploadFile, File(description="The raw output bytes benchmark_model wrote")],
    inference_us: Annotated[float | None, Form(ge=0, le=1e12)] = None,
    raw_output: Annotated[str, Form(max_length=300_000)] = "",
    command: Annotated[str, Form(max_length=8000)] = "",
) -> CompleteReply:
    run, key = _run_of(db, agent, run_id, attempt, device_id)
    target = service.output_path(run.job_id, run.id, attempt)
    _save(file, target, _expected_bytes(db, run))
    stored = service.complete_run(db, key, target, inference_us, raw_output, command)
    if not stored:
        target.unlink(missing_ok=True)
    return CompleteReply(stored=stored)


def numerics_path(job_id: int, run_id: int, attempt: int) -> Path:
    from contracts.settings import get_settings

    where = get_settings().data_dir.resolve() / "numerics" / str(int(job_id))
    return where / f"run-{int(run_id)}-{int(attempt)}.bin"


@router.post(
    "/runs/{run_id}/numerics-output",
    status_code=204,
    responses={403: {}, 404: {}, 422: {}},
    summary="Worker: a benchmark run's numerics output (the fixed input's output tensors), before complete",
)
def numerics_output(
    db: DB,
    agent: Agent,
    run_id: IdPath,
    attempt: Attempt,
    device_id: DeviceId,
    file: Annotated[UploadFile, File(description="The raw output bytes benchmark_model wrote")],
) -> None:
    run, _ = _run_of(db, agent, run_id, attempt, device_id)
    _save(file, numerics_path(run.job_id, run.id, attempt), _expected_bytes(db, run))


def attach_numerics(job_id: int, key: RunKey, env: dict[str, Any]) -> None:
    """Point a result's numerics record at the output the worker uploaded (never at a path it sent)."""
    info = env.get("numerics_output")
    if not isinstance(info, dict):
        return
    info.pop("output_path", None)
    info.pop("output_local", None)
    if "error" in info:
        return
    path = numerics_path(job_id, key.run_id, key.attempt)
    if path.is_file():
        info["output_path"] = str(path)
    else:
        info["error"] = "the numerics output was not uploaded"
