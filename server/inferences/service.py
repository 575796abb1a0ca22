"""Submitting inference jobs, storing what the phones returned, and reading it back with numerics.

An inference is an ordinary job whose spec says ``kind: inference``: one run per phone ×
delegate, each a single invocation of the official benchmark_model fed the image's tensor
(worker/inference_run.py). So queue, leases, retries, cancel, tokens and privacy are the
benchmarks' own. What differs: a succeeded run stores the output file it pulled (no timing
result: one inference is not a benchmark), and reading an inference compares every
non-CPU delegate's output with the CPU output of the same phone (contracts/numerics.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from contracts.numerics import compare
from contracts.output import bound
from contracts.runs import RunKey
from contracts.settings import get_settings
from contracts.vocabulary import RunState
from server import counters
from server.api.errors import NotFound, ProblemError
from server.auth.service import Principal
from server.db import utcnow
from server.devices.models import Device
from server.devices.service import release_lease
from server.inferences import images, render
from server.inferences.models import Inference, InferenceOutput
from server.inferences.schemas import InferenceIn, InferenceOut, InferenceRunOut, NumericsOut
from server.jobs import service as jobs_service
from server.jobs.lifecycle import release
from server.jobs.models import Job, Run
from server.models.models import Model
from server.models.service import find_model
from server.queue import enqueue

NO_MASK = (
    "no mask: none of the model's outputs has a spatial class layout ([1, H, W, classes] or class ids); "
    "the numerics against the CPU are reported all the same"
)


def _dir(job_id: int) -> Path:
    return get_settings().data_dir.resolve() / "inferences" / str(job_id)


def submit(db: Session, principal: Principal, image: BinaryIO, spec: InferenceIn) -> Inference:
    """Add the inference job and its runs; the runs are sent to their hosts when the caller commits."""
    img, raw = images.read_image(image)  # bounded and checked before anything else
    model = find_model(db, principal, spec.model)
    inp = images.check_input(list(model.inputs))
    if render.expected_size(list(model.outputs)) is None:
        raise ProblemError(
            422,
            "Model outputs have no fixed size",
            "The model's outputs have dynamic shapes or unknown types; the farm reads outputs by their declared sizes.",
        )
    requested = spec.preprocessing.model_dump() if spec.preprocessing else None
    prep = images.resolve_preprocessing(requested, model.zoo_name, str(inp["dtype"]))
    tensor = images.to_tensor(img, inp, prep)
    devices = jobs_service.select_devices(db, spec.devices)

    job = Job(model_id=model.id, spec={}, submitter_id=principal.user_id, public=spec.public)
    db.add(job)
    db.flush()
    where = _dir(job.id)
    where.mkdir(parents=True, exist_ok=True)
    fmt = "png" if raw[:8] == b"\x89PNG\r\n\x1a\n" else "jpeg"
    image_path = where / f"image.{fmt}"
    image_path.write_bytes(raw)
    input_path = where / "input.bin"
    input_bytes = np.ascontiguousarray(tensor).tobytes()
    input_path.write_bytes(input_bytes)
    inference = Inference(
        job_id=job.id,
        model_id=model.id,
        image_path=str(image_path),
        image_format=fmt,
        width=img.width,
        height=img.height,
        input_path=str(input_path),
        input_name=str(inp["name"]),
        input_shape=[int(d) for d in inp["shape"]],
        input_dtype=str(inp["dtype"]),
        preprocessing=prep.as_dict(),
        threshold=spec.numerics_threshold,
    )
    db.add(inference)
    db.flush()
    job.spec = {
        "kind": "inference",
        "inference": {
            "id": inference.id,
            "input_path": str(input_path),
            # workers fetch the input by content (GET /inferences/{id}/input), never by this path
            "input_sha256": hashlib.sha256(input_bytes).hexdigest(),
            "input_size": len(input_bytes),
            "input_name": inference.input_name,
            "input_shape": inference.input_shape,
            "output_dir": str(where),
            "output_bytes": render.expected_size(list(model.outputs)),
        },
        "devices": spec.devices.model_dump(mode="json"),
        "delegates": [d.value for d in spec.delegates],
        "threads": [spec.threads],
        # one invocation, one inference: the numbers are an answer, not a benchmark
        "num_runs": 1,
        "warmup_runs": 0,
        "min_secs": 0.0,
        "warmup_min_secs": 0.0,
        "max_secs": 60.0,
        "trials": 1,
        "op_profile": False,
        "report_peak_memory_footprint": False,
    }
    # the CPU run first on each phone: it is the reference the other delegates are compared with
    order = sorted(spec.delegates, key=lambda d: d.value != "cpu")
    runs = [
        Run(job_id=job.id, device_id=d.id, original_device_id=d.id, delegate=dl.value, threads=spec.threads)
        for d in devices
        for dl in order
    ]
    db.add_all(runs)
    db.flush()
    counters.submitted(db, [r.device_id for r in runs])
    queues = {d.id: d.host.queue for d in devices}
    enqueue(db, [(r.id, queues[r.device_id]) for r in runs])
    return inference


def output_path(job_id: int, run_id: int, attempt: int) -> Path:
    """Where the API keeps an inference run's output (uploaded by the worker)."""
    return _dir(job_id) / f"run-{int(run_id)}-{int(attempt)}.bin"


def complete_run(
    db: Session,
    key: RunKey,
    output_path: Path,
    inference_us: float | None,
    raw_output: str,
    command: str,
) -> bool:
    """Record a run's output if the run is still ours (as lifecycle.complete does for results)."""
    run = db.scalar(select(Run).where(Run.id == key.run_id).with_for_update())
    if run is None or run.state != RunState.running or run.attempts != key.attempt:
        release(db, key)
        return False
    inference = inference_for_job(db, run.job_id)
    if inference is None:
        raise NotFound("inference of run", key.run_id)
    db.add(
        InferenceOutput(
            run_id=run.id,
            inference_id=inference.id,
            device_id=run.device_id,
            delegate=run.delegate,
            path=str(output_path),
            size_bytes=output_path.stat().st_size,
            inference_us=inference_us,
        )
    )
    now = utcnow()
    counters.finished(db, (run.state, run.device_id), RunState.succeeded, None, run.started_at, now)
    run.state = RunState.succeeded
    run.finished_at = now
    run.raw_output, run.output_bytes = bound(raw_output)
    run.command = command
    db.execute(update(Device).where(Device.id == run.device_id).values(consecutive_failures=0))
    release_lease(db, run.device_id, run.id)
    jobs_service.refresh_job_state(db, run.job_id)
    db.commit()
    return True


# ---------------------------------------------------------------- reading


@dataclass
class _Loaded:
    arrays: list[np.ndarray]
    mask: np.ndarray | None


@lru_cache(maxsize=64)
def _load(path: str, size: int, outputs_key: str) -> _Loaded:
    import json

    outputs = json.loads(outputs_key)
    arrays = render.split_outputs(Path(path).read_bytes(), outputs)
    return _Loaded(arrays, render.mask_of(arrays))


def _loaded(out: InferenceOutput, model: Model) -> _Loaded | None:
    import json

    try:
        return _load(out.path, out.size_bytes, json.dumps(list(model.outputs), sort_keys=True))
    except (OSError, ValueError, KeyError):
        return None


def get_inference(db: Session, principal: Principal, inference_id: int) -> tuple[Inference, Job]:
    inference = db.get(Inference, inference_id)
    if inference is None:
        raise NotFound("inference", inference_id)
    try:
        job = jobs_service.get_job(db, principal, inference.job_id)  # same privacy as the job
    except NotFound:
        raise NotFound("inference", inference_id) from None
    return inference, job


def _numerics_target(loaded: _Loaded) -> np.ndarray:
    for a in loaded.arrays:
        if render.mask_of([a]) is not None:
            return a
    return loaded.arrays[0]


def view(db: Session, principal: Principal, inference_id: int) -> InferenceOut:
    inference, job = get_inference(db, principal, inference_id)
    model = db.get(Model, inference.model_id)
    assert model is not None
    outs = {
        o.run_id: o
        for o in db.scalars(select(InferenceOutput).where(InferenceOutput.inference_id == inference.id))
    }
    phones = {
        d.id: d for d in db.scalars(select(Device).where(Device.id.in_({r.device_id for r in job.runs})))
    }
    loaded = {rid: _loaded(o, model) for rid, o in outs.items()}
    cpu_of = {
        r.device_id: loaded.get(r.id)
        for r in job.runs
        if r.delegate == "cpu" and loaded.get(r.id) is not None
    }
    base = f"/api/v1/inferences/{inference.id}/runs"
    runs: list[InferenceRunOut] = []
    for r in job.runs:
        d = phones.get(r.device_id)
        out = outs.get(r.id)
        data = loaded.get(r.id)
        item = InferenceRunOut(
            run_id=r.id,
            device_id=r.device_id,
            phone=(d.model or d.serial) if d else str(r.device_id),
            soc=d.soc_name if d else None,
            delegate=r.delegate,
            state=r.state,
            error=r.error,
            inference_us=out.inference_us if out else None,
            outputs=[{"name": o["name"], "shape": o["shape"], "dtype": o["dtype"]} for o in model.outputs],
        )
        if out is not None and data is None:
            item.note = "the output file could not be read"
        if data is not None:
            item.has_mask = data.mask is not None
            if item.has_mask:
                item.mask_url = f"{base}/{r.id}/mask.png"
                item.overlay_url = f"{base}/{r.id}/overlay.png"
            else:
                item.note = NO_MASK
            ref = cpu_of.get(r.device_id)
            if r.delegate != "cpu" and ref is not None:
                num = compare(_numerics_target(ref), _numerics_target(data), inference.threshold)
                item.numerics = NumericsOut(**num.as_dict())
                item.numerics_mismatch = num.mismatch
            elif r.delegate != "cpu":
                item.note = (
                    item.note + "; " if item.note else ""
                ) + "no CPU output on this phone to compare with"
        runs.append(item)
    return InferenceOut(
        id=inference.id,
        job_id=job.id,
        model_id=inference.model_id,
        state=job.state,
        image={
            "width": inference.width,
            "height": inference.height,
            "format": inference.image_format,
            "url": f"/api/v1/inferences/{inference.id}/image",
        },
        input={"name": inference.input_name, "shape": inference.input_shape, "dtype": inference.input_dtype},
        preprocessing=dict(inference.preprocessing),
        numerics_threshold=inference.threshold,
        numerics_mismatch=any(r.numerics_mismatch for r in runs),
        runs=runs,
        created_at=inference.created_at,
    )


def image_bytes(db: Session, principal: Principal, inference_id: int) -> tuple[bytes, str]:
    inference, _ = get_inference(db, principal, inference_id)
    return Path(inference.image_path).read_bytes(), f"image/{inference.image_format}"


def picture(db: Session, principal: Principal, inference_id: int, run_id: int, kind: str) -> bytes:
    """mask.png or overlay.png of one run, at the image's own size."""
    inference, job = get_inference(db, principal, inference_id)
    if run_id not in {r.id for r in job.runs}:
        raise NotFound(f"run of inference {inference_id}", run_id)
    out = db.scalar(select(InferenceOutput).where(InferenceOutput.run_id == run_id))
    if out is None:
        raise ProblemError(
            404, "No output", f"Run {run_id} has no output (yet): see GET /api/v1/inferences/{inference_id}."
        )
    model = db.get(Model, inference.model_id)
    assert model is not None
    data = _loaded(out, model)
    if data is None:
        raise ProblemError(404, "No output", f"The output of run {run_id} could not be read.")
    if data.mask is None:
        raise ProblemError(404, "No mask", NO_MASK)
    size = (inference.width, inference.height)
    mask = render.mask_image(data.mask, size)
    if kind == "mask":
        return render.png(mask)
    with Image.open(inference.image_path) as img:
        return render.png(render.overlay_image(img.convert("RGB"), mask))


def inference_for_job(db: Session, job_id: int) -> Inference | None:
    return db.scalar(select(Inference).where(Inference.job_id == job_id))
