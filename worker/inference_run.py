"""One inference run: the image's tensor through the official benchmark_model on a phone, output pulled.

Why benchmark_model and not an app: it is the binary the farm already pushes and trusts,
and it has the flags for exactly this (``--input_layer=… --input_layer_shape=…
--input_layer_value_files=NAME:PATH`` feeds raw tensor bytes, ``--output_filepath=PATH``
writes every output tensor's raw bytes after the run). The run is claimed, leased and
heartbeated like a benchmark run (worker/runner.py); what it stores is the output file
(server/inferences/service.complete_run), never a timing result. Every value on the
command line comes from the job's spec, written by the server, and is shell-quoted.
"""

from __future__ import annotations

import logging
from pathlib import Path

import adbutils
from adbutils import AdbDevice

from contracts.settings import get_settings
from contracts.vocabulary import FailureCause, RunState
from device_agent import benchmark_output
from device_agent.phone import benchmark, install
from device_agent.phone.shell import CommandTimeout, DeviceLost, quote_cmd, run
from server.db import session_scope
from server.inferences import service as inference_service
from server.jobs import lifecycle
from server.jobs.lifecycle import Claim
from worker import benchmark_binary

log = logging.getLogger("phonefarm.worker")


def is_inference(claim: Claim) -> bool:
    return claim.spec.get("kind") == "inference"


def command_for(
    claim: Claim,
    binary: str,
    model: str,
    input_remote: str,
    output_remote: str,
    supported: frozenset[str] | None = None,
) -> str:
    inf = claim.spec["inference"]
    name = str(inf["input_name"])
    shape = ",".join(str(int(d)) for d in inf["input_shape"])
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
    size = install.remote_sizes(device, [remote]).get(remote)
    if size != expected:
        raise ValueError(
            f"benchmark_model wrote {size if size is not None else 'no'} output bytes; the model declares {expected}"
        )
    try:
        return bytes(device.sync.read_bytes(remote))
    except (adbutils.AdbError, OSError) as exc:
        raise DeviceLost(f"pull of {remote} from {device.serial} failed: {exc}") from exc


def infer(claim: Claim, device: AdbDevice) -> tuple[str, str, Path | None, float | None, str | None]:
    """(command, raw output, local output file or None, inference µs, error)."""
    settings = get_settings()
    inf = claim.spec["inference"]
    model_remote = install.model_path(claim.model_sha256)
    chosen = benchmark_binary.choose(device, claim.model_sha256)  # by the phone's abilist
    binary_remote = install.binary_path(chosen.info.sha256[:12])
    input_remote = f"{install.REMOTE_DIR}/inference-{int(inf['id'])}.bin"
    output_remote = f"{install.REMOTE_DIR}/output-{int(claim.run_id)}.bin"
    install.ensure(
        device,
        [
            install.Upload(Path(claim.model_path), model_remote),
            install.Upload(chosen.local, binary_remote, executable=True),
            install.Upload(Path(inf["input_path"]), input_remote),
        ],
    )
    supported = benchmark_binary.supported_flags(device, chosen.info, binary_remote)
    command = command_for(claim, binary_remote, model_remote, input_remote, output_remote, supported)
    log.info("run=%s inference: %s", claim.run_id, command)
    out = run(device, command, timeout=settings.run_timeout_s)
    parsed = benchmark_output.parse(out.output)
    if isinstance(parsed, benchmark_output.BenchmarkFailure):
        return command, out.output, None, None, f"{parsed.kind}: {parsed.message} (exit {out.exit_code})"
    if out.exit_code != 0:
        return command, out.output, None, None, f"benchmark_model exited with {out.exit_code}"
    try:
        blob = _pull(device, output_remote, int(inf["output_bytes"]))
    except ValueError as exc:
        return command, out.output, None, None, str(exc)
    finally:
        run(device, quote_cmd("rm", "-f", output_remote))
    local = Path(inf["output_dir"]) / f"run-{int(claim.run_id)}.bin"
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(blob)
    return command, out.output, local, parsed.avg_us, None


def execute(claim: Claim) -> str:
    """Claimed inference run → output stored or failure recorded; the lease is always given back."""
    from worker.celery_app import dispatch
    from worker.runner import Cancelled, _device, _Heartbeat

    beat = _Heartbeat(claim)
    beat.start()
    command = raw = None
    settled = False
    try:
        command, raw, path, us, error = infer(claim, _device(claim.serial))
        if beat.cancelled.is_set():
            raise Cancelled
        with session_scope() as db:
            if path is not None:
                stored = inference_service.complete_run(db, claim, path, us, raw, command)
                settled = True
                return RunState.succeeded if stored else "discarded"
            lifecycle.fail(db, claim, error or "unknown error", raw, command, device_lost=False)
            settled = True
            return RunState.failed
    except Cancelled:
        return RunState.cancelled
    except benchmark_binary.HostMisconfigured as exc:
        cause = FailureCause.host_misconfigured
        with session_scope() as db:
            lifecycle.fail(db, claim, f"{cause}: {exc}", raw, command, device_lost=False, cause=cause)
        settled = True
        return RunState.failed
    except (DeviceLost, CommandTimeout, ConnectionError) as exc:
        lost = isinstance(exc, DeviceLost | ConnectionError)
        reason = str(exc) if lost else f"inference timed out: {exc}"
        with session_scope() as db:
            target = lifecycle.fail(db, claim, reason, raw, command, device_lost=lost)
        settled = True
        if target:
            dispatch([target])
        return "retrying" if target else RunState.failed
    except Exception as exc:
        log.exception("run=%s inference failed unexpectedly", claim.run_id)
        with session_scope() as db:
            lifecycle.fail(db, claim, f"internal error: {exc!r}", raw, command, device_lost=False)
        settled = True
        return RunState.failed
    finally:
        beat.stop.set()
        if not settled:
            with session_scope() as db:
                lifecycle.release(db, claim)
