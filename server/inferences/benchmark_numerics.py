"""Numerics of a benchmark job run with ``numerics: true``: each delegate against the CPU, per phone.

Every run of such a job fed the model the same fixed input and kept its outputs
(worker/numerics_trial.py, ``env["numerics_output"]``). Read time is when both sides of a
comparison are known (a phone's CPU run may finish after its GPU run), so the comparison
is made here, with contracts/numerics.py, for every non-CPU result that has a CPU result
with the same phone and thread count in the same job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.numerics import DEFAULT_THRESHOLD, compare
from server.auth.service import Principal
from server.devices.models import Device
from server.inferences import render
from server.jobs import service as jobs_service
from server.models.models import Model
from server.results.models import Result


def _target(arrays: list[Any]) -> Any:
    for a in arrays:
        if render.mask_of([a]) is not None:
            return a
    return arrays[0]


def _arrays(res: Result, outputs: list[dict[str, Any]]) -> list[Any] | None:
    info = (res.env or {}).get("numerics_output") or {}
    path = info.get("output_path")
    if not path:
        return None
    try:
        return render.split_outputs(Path(path).read_bytes(), outputs)
    except (OSError, ValueError, KeyError):
        return None


def job_numerics(
    db: Session, principal: Principal, job_id: int, threshold: float = DEFAULT_THRESHOLD
) -> list[dict[str, Any]]:
    job = jobs_service.get_job(db, principal, job_id)  # 404 unless visible
    model = db.get(Model, job.model_id)
    assert model is not None
    outputs = list(model.outputs)
    results = list(db.scalars(select(Result).where(Result.job_id == job.id)))
    devices = {
        d.id: d for d in db.scalars(select(Device).where(Device.id.in_({r.device_id for r in results})))
    }
    cpu = {(r.device_id, r.threads): r for r in results if r.delegate == "cpu"}
    rows = []
    for r in results:
        if r.delegate == "cpu" or not (r.env or {}).get("numerics_output"):
            continue
        d = devices.get(r.device_id)
        row: dict[str, Any] = {
            "run_id": r.run_id,
            "device_id": r.device_id,
            "phone": (d.model or d.serial) if d else str(r.device_id),
            "soc": d.soc_name if d else None,
            "delegate": r.delegate,
            "threads": r.threads,
            "numerics": None,
            "numerics_mismatch": False,
            "note": None,
        }
        ref = cpu.get((r.device_id, r.threads))
        mine = _arrays(r, outputs)
        base = _arrays(ref, outputs) if ref is not None else None
        if mine is None:
            row["note"] = (r.env["numerics_output"] or {}).get("error") or "no output kept for this run"
        elif base is None:
            row["note"] = "no CPU output on this phone to compare with (add cpu to the job's delegates)"
        else:
            num = compare(_target(base), _target(mine), threshold)
            row["numerics"] = num.as_dict()
            row["numerics_mismatch"] = num.mismatch
        rows.append(row)
    return rows
