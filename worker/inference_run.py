"""One inference run: the image's tensor through the official benchmark_model on a phone, output pulled.

Why benchmark_model and not an app: it is the binary the farm already pushes and trusts,
and it has the flags for exactly this (``--input_layer=… --input_layer_shape=…
--input_layer_value_files=NAME:PATH`` feeds raw tensor bytes, ``--output_filepath=PATH``
writes every output tensor's raw bytes after the run). The run is claimed, leased and
heartbeated like a benchmark run (worker/runner.py), through the API only: the input tensor is
fetched by sha256 (GET /inferences/{id}/input) and the pulled output is uploaded
(POST /runs/{id}/inference-output, stored by server/inferences/service.complete_run), never a
timing result. Every value on the
command line comes from the job's spec, written by the server, and is shell-quoted.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import adbutils
from adbutils import AdbDevice

from contracts.jobs import InferenceTask
from contracts.runs import Claim, FileRef
from contracts.settings import get_settings
from contracts.vocabulary import RunState
from device_agent import benchmark_output
from device_agent.phone import benchmark, install
from device_agent.phone.shell import quote_cmd, run
from worker import benchmark_binary

if TYPE_CHECKING:
    from worker.runner import _Heartbeat

log = logging.getLogger("phonefarm.worker")


def is_inference(claim: Claim) -> bool:
    return claim.spec.kind == "inference" and claim.spec.inference is not None


def _task(claim: Claim) -> InferenceTask:
    task = claim.spec.inference
    if task is None:
        raise ValueError("an inference run without its inference")
    return task


def command_for(
    claim: Claim,
    binary: str,
    model: str,
    input_remote: str,
    output_remote: str,
    supported: frozenset[str] | None = None,
) -> str:
    inf = _task(claim)
    name = inf.input_name
    shape = ",".join(str(int(d)) for d in inf.input_shape)
    base = benchmark.build_command(binary, model, claim.delegate, claim.threads, claim.spec, supported)
    return (
        base
        + " "
        + quote_cmd(
            f"--input_layer={name}",
            f"--input_layer_shape={shape}",
            f"--input_layer_value_files={name.replace(':', '::')}:{input_remote}",
            f"--output_filepath={output_remote}",
        )
    )


def _pull(device: AdbDevice, remote: str, expected: int) -> bytes:
    from worker.runner import PHONE_LOST

    size = install.remote_sizes(device, [remote]).get(remote)
    if size != expected:
        raise ValueError(
            f"benchmark_model wrote {size if size is not None else 'no'} output bytes; the model declares {expected}"
        )
    try:
        return bytes(device.sync.read_bytes(remote))
    except (adbutils.AdbError, *PHONE_LOST) as exc:
        from device_agent.phone.shell import DeviceLost

        raise DeviceLost(f"pull of {remote} from {device.serial} failed: {exc}") from exc


def infer(claim: Claim, device: AdbDevice) -> tuple[str, str, bytes | None, float | None, str | None]:
    """(command, raw output, output bytes or None, inference µs, error)."""
    from worker.runner import _api, _fetch, _model

    settings = get_settings()
    inf = _task(claim)
    if inf.input_sha256 is None:  # never fetched by path: only bytes the sha256 vouches for reach a phone
        error = "the inference's input has no sha256 (its file was gone when the farm was migrated): submit it again"
        return "", "", None, None, error
    model = _model(claim)  # from this host's cache, fetched by sha256 when missing
    chosen = benchmark_binary.choose(device, claim, _fetch)  # by the phone's abilist
    binary_remote = install.binary_path(chosen.info.sha256[:12])
    input_ref = FileRef(sha256=inf.input_sha256, size=inf.input_size, path=inf.input_path())
    input_local = _fetch(input_ref)
    input_remote = f"{install.REMOTE_DIR}/inference-{int(inf.id)}.bin"
    output_remote = f"{install.REMOTE_DIR}/output-{int(claim.run_id)}.bin"
    install.ensure(
        device,
        [
            model,
            install.Upload(chosen.local, binary_remote, chosen.info.sha256, executable=True),
            install.Upload(input_local, input_remote, inf.input_sha256),
        ],
    )
    supported = benchmark_binary.supported_flags(device, chosen.info, binary_remote, _api().capabilities)
    command = command_for(claim, binary_remote, model.remote, input_remote, output_remote, supported)
    log.info("run=%s inference: %s", claim.run_id, command)
    out = run(device, command, timeout=settings.run_timeout_s)
    parsed = benchmark_output.parse(out.output)
    if isinstance(parsed, benchmark_output.BenchmarkFailure):
        return command, out.output, None, None, f"{parsed.kind}: {parsed.message} (exit {out.exit_code})"
    if out.exit_code != 0:
        return command, out.output, None, None, f"benchmark_model exited with {out.exit_code}"
    try:
        blob = _pull(device, output_remote, inf.output_bytes)
    except ValueError as exc:
        return command, out.output, None, None, str(exc)
    finally:
        run(device, quote_cmd("rm", "-f", output_remote))
    return command, out.output, blob, parsed.avg_us, None


def _upload(claim: Claim, blob: bytes, us: float | None, raw: str, command: str) -> bool:
    """Upload the output; the server stores it and completes the run. False: no longer ours."""
    from contracts.runs import RAW_OUTPUT_LIMIT, bound_text
    from worker.runner import _api

    fields = {"raw_output": bound_text(raw, RAW_OUTPUT_LIMIT) or "", "command": command[:8000]}
    if us is not None:
        fields["inference_us"] = repr(float(us))
    with tempfile.TemporaryDirectory(prefix="phonefarm-out-") as tmp:
        path = Path(tmp) / f"run-{int(claim.run_id)}.bin"
        path.write_bytes(blob)
        reply = _api().upload_run_file(claim, "inference-output", path, fields)
    return bool(reply.get("stored"))


def execute(claim: Claim) -> str:
    """Claimed inference run → output stored or failure recorded; the lease is always given back
    (runner.settle: the same failure branches as a benchmark run)."""
    from worker.runner import settle

    return settle(claim, lambda beat: _infer_and_store(claim, beat), "inference")


def _infer_and_store(claim: Claim, beat: _Heartbeat) -> str:
    from worker.runner import Cancelled, _api, _device, with_phone_log

    command, raw, blob, us, error = infer(claim, _device(claim.serial))
    if beat.cancelled.is_set():
        raise Cancelled
    if blob is not None:
        stored = _upload(claim, blob, us, raw, command)
        return RunState.succeeded if stored else "discarded"
    reason, raw_with_log = with_phone_log(claim, error, raw)
    _api().fail(claim, reason, raw_with_log, command, device_lost=False)
    return RunState.failed
