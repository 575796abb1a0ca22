"""Executing one run on one phone: the logic behind the thin Celery task.

claim (run + phone lease) → snapshot → push model/binary if missing → benchmark under a
deadline while heartbeating → parse → store exactly one result, or record why not.
After a run the same worker drains the phone's other queued runs, so a job's runs on a
phone follow each other without a broker round trip.
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adbutils import AdbClient, AdbDevice
from sqlalchemy import select

from device_agent import benchmark_output
from device_agent.phone import benchmark, install, snapshot
from device_agent.phone.shell import CommandTimeout, DeviceLost, run
from server.core.config import get_settings
from server.core.logging import log_context
from server.db import session_scope
from server.jobs import lifecycle
from server.jobs.lifecycle import Claim, ClaimOutcome
from server.jobs.models import Run, RunState
from worker.celery_app import dispatch

log = logging.getLogger("phonefarm.worker")
WORKER_NAME = f"{socket.gethostname()}:{__import__('os').getpid()}"


@dataclass(frozen=True)
class Outcome:
    state: str
    retry: bool = False  # the phone was busy: ask again shortly


def _adb() -> AdbClient:
    s = get_settings()
    return AdbClient(host=s.adb_host, port=s.adb_port)


def _device(serial: str) -> AdbDevice:
    client = _adb()
    states = {d.serial: d.state for d in client.list()}
    if states.get(serial) != "device":
        raise DeviceLost(f"phone {serial} is {states.get(serial, 'not attached')}")
    return client.device(serial)


class _Heartbeat(threading.Thread):
    """Keeps the run and lease fresh; notices a cancel and tells the executor to stop."""

    def __init__(self, claim: Claim, period: float = 2.0) -> None:
        super().__init__(daemon=True, name=f"beat-{claim.run_id}")
        self.claim = claim
        self.period = period
        self.stop = threading.Event()
        self.cancelled = threading.Event()
        self.on_cancel: list[Any] = []

    def run(self) -> None:
        while not self.stop.wait(self.period):
            try:
                with session_scope() as db:
                    alive = lifecycle.beat(db, self.claim.run_id, self.claim.device_id)
            except Exception:  # a database hiccup must not kill the benchmark
                log.exception("heartbeat failed run=%s", self.claim.run_id)
                continue
            if not alive:
                self.cancelled.set()
                for fn in self.on_cancel:
                    fn()
                return


def _result_fields(
    parsed: benchmark_output.BenchmarkResult,
    before: snapshot.Snapshot,
    after: snapshot.Snapshot,
    command: str,
) -> dict[str, Any]:
    return {
        "init_us": parsed.init_us,
        "first_inference_us": parsed.first_inference_us,
        "warmup_avg_us": parsed.warmup_avg_us,
        "avg_us": parsed.avg_us,
        "min_us": parsed.min_us,
        "max_us": parsed.max_us,
        "std_us": parsed.std_us,
        "median_us": parsed.median_us,
        "count": parsed.count,
        "mem_init_mb": parsed.memory_init_mb,
        "mem_overall_mb": parsed.memory_overall_mb,
        "mem_peak_mb": parsed.peak_memory_mb,
        "tool_version": parsed.tool_version,
        "delegate_applied": parsed.delegate_applied,
        "battery_before": before.battery_level,
        "battery_after": after.battery_level,
        "temp_before_c": before.max_cpu_temp_c,
        "temp_after_c": after.max_cpu_temp_c,
        "env": {
            "before": before.as_dict(),
            "after": after.as_dict(),
            "command": command,
            "format": parsed.format,
        },
    }


def _measure(claim: Claim, beat: _Heartbeat) -> tuple[str, str, dict[str, Any] | None, str | None]:
    """Returns (command, raw output, result fields or None, tool error or None)."""
    settings = get_settings()
    device = _device(claim.serial)
    before = snapshot.take(device)
    model_remote = install.model_path(claim.model_sha256)
    install.ensure_file(device, Path(claim.model_path), model_remote, claim.model_size)
    data, version = benchmark.binary_for(claim.is_virtual, settings.benchmark_binary)
    binary_remote = install.binary_path(version)
    install.ensure_executable(device, data, binary_remote)
    command = benchmark.build_command(binary_remote, model_remote, claim.delegate, claim.threads, claim.spec)
    log.info("run=%s job=%s phone=%s starting: %s", claim.run_id, claim.job_id, claim.serial, command)
    out = run(device, command, timeout=settings.run_timeout_s)
    if beat.cancelled.is_set():
        return command, out.output, None, "cancelled"
    after = snapshot.take(device)
    parsed = benchmark_output.parse(out.output)
    if isinstance(parsed, benchmark_output.BenchmarkFailure):
        return command, out.output, None, f"{parsed.kind}: {parsed.message} (exit {out.exit_code})"
    if out.exit_code != 0:
        return command, out.output, None, f"benchmark_model exited with {out.exit_code}"
    return command, out.output, _result_fields(parsed, before, after, command), None


def execute_claimed(claim: Claim) -> str:
    with log_context(job_id=claim.job_id, run_id=claim.run_id, device=claim.serial):
        return _execute_claimed(claim)


def _execute_claimed(claim: Claim) -> str:
    beat = _Heartbeat(claim)
    beat.start()
    command = raw = None
    try:
        command, raw, fields, error = _measure(claim, beat)
        with session_scope() as db:
            if fields is not None:
                stored = lifecycle.complete(db, claim, fields, raw, command)
                return RunState.succeeded if stored else "discarded"
            if error == "cancelled":
                lifecycle.release(db, claim)
                return RunState.cancelled
            lifecycle.fail(db, claim, error or "unknown error", raw, command, device_lost=False)
            return RunState.failed
    except (DeviceLost, CommandTimeout, ConnectionError) as exc:
        lost = isinstance(exc, DeviceLost | ConnectionError)
        reason = str(exc) if lost else f"benchmark timed out: {exc}"
        log.warning("run=%s job=%s phone=%s %s", claim.run_id, claim.job_id, claim.serial, reason)
        with session_scope() as db:
            target = lifecycle.fail(db, claim, reason, raw, command, device_lost=lost)
        if target:
            dispatch([target])
        return "retrying" if target else RunState.failed
    except Exception as exc:
        log.exception("run=%s failed unexpectedly", claim.run_id)
        with session_scope() as db:
            lifecycle.fail(db, claim, f"internal error: {exc!r}", raw, command, device_lost=False)
        return RunState.failed
    finally:
        beat.stop.set()
        with session_scope() as db:
            lifecycle.release(db, claim)


def execute(run_id: int) -> Outcome:
    """Run `run_id` if it still needs running, then drain the phone's other queued runs."""
    with session_scope() as db:
        outcome, payload = lifecycle.claim(db, run_id, WORKER_NAME)
    if outcome == ClaimOutcome.moved and isinstance(payload, tuple):
        dispatch([payload])
    if outcome != ClaimOutcome.claimed or not isinstance(payload, Claim):
        log.info("run=%s %s", run_id, outcome)
        return Outcome(outcome, retry=outcome == ClaimOutcome.busy)
    state = execute_claimed(payload)
    device_id = payload.device_id
    while state in (RunState.succeeded, RunState.failed, RunState.cancelled, "discarded"):
        with session_scope() as db:
            next_id = db.scalar(
                select(Run.id)
                .where(Run.device_id == device_id, Run.state == RunState.queued)
                .order_by(Run.id)
                .limit(1)
            )
            if next_id is None:
                break
            outcome, nxt = lifecycle.claim(db, next_id, WORKER_NAME)
        if outcome != ClaimOutcome.claimed or not isinstance(nxt, Claim):
            break
        state = execute_claimed(nxt)
    return Outcome(state)
