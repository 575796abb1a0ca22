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
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from adbutils import AdbClient, AdbDevice

from contracts.logs import log_context
from contracts.settings import get_settings
from contracts.stats import Summary, Trial, summarize
from contracts.vocabulary import FailureCause, RunState
from device_agent import benchmark_output
from device_agent.phone import benchmark, install, snapshot
from device_agent.phone.shell import CommandTimeout, DeviceLost, run
from server.db import session_scope
from server.jobs import lifecycle
from server.jobs.lifecycle import Claim, ClaimOutcome
from worker import benchmark_binary, inference_run, protocol
from worker.celery_app import dispatch
from worker.numerics_trial import maybe_numerics
from worker.op_profile_trial import maybe_profile

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
    # no list() round trip: a phone that is gone or unauthorized fails its first command with DeviceLost
    return _adb().device(serial)


class _Heartbeat(threading.Thread):
    """Keeps the run and lease fresh; notices a cancel and tells the executor to stop."""

    def __init__(self, claim: Claim, period: float = 2.0) -> None:
        super().__init__(daemon=True, name=f"beat-{claim.run_id}")
        self.claim = claim
        self.period = period
        self.stop = threading.Event()
        self.cancelled = threading.Event()

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
                return


def _result_fields(
    first: benchmark_output.BenchmarkResult,
    last: benchmark_output.BenchmarkResult,
    summary: Summary,
    before: snapshot.Snapshot,
    after: snapshot.Snapshot,
    env: dict[str, Any],
) -> dict[str, Any]:
    return {
        # cold-start figures come from the first trial, when the model was loaded fresh
        "init_us": first.init_us,
        "first_inference_us": first.first_inference_us,
        "warmup_avg_us": first.warmup_avg_us,
        "avg_us": summary.mean_us,
        "min_us": summary.min_us,
        "max_us": summary.max_us,
        "std_us": summary.std_us,
        "median_us": summary.median_us,
        "mean_us": summary.mean_us,
        "trial_p90_us": summary.trial_p90_us,
        "tool_p95_us": summary.tool_p95_us,
        "ci_half_pct": summary.ci_half_pct,
        "detectable_pct": summary.detectable_pct,
        "cv": summary.cv,
        "ci95_low_us": summary.ci95_low_us,
        "ci95_high_us": summary.ci95_high_us,
        "trials": summary.trials,
        "unstable": summary.unstable,
        "unstable_reason": "; ".join(summary.reasons)[:500] or None,
        "count": summary.count,
        "mem_init_mb": last.memory_init_mb,
        "mem_overall_mb": last.memory_overall_mb,
        "mem_peak_mb": last.peak_memory_mb,
        "tool_version": last.tool_version,
        "delegate_applied": last.delegate_applied,
        "battery_before": before.battery_level,
        "battery_after": after.battery_level,
        "temp_before_c": before.max_cpu_temp_c,
        "temp_after_c": after.max_cpu_temp_c,
        "env": env | {"before": before.as_dict(), "after": after.as_dict(), "stats": summary.as_dict()},
    }


class Cancelled(Exception):
    """The run was cancelled while it was being measured."""


def _sleep(seconds: float, beat: _Heartbeat) -> None:
    if beat.cancelled.wait(seconds):
        raise Cancelled


def _thermal_gate(
    device: AdbDevice, spec: dict[str, Any], beat: _Heartbeat, fresh: snapshot.Snapshot | None
) -> dict[str, Any]:
    """Wait until the hottest CPU zone is under the limit (or the timeout passes)."""
    limit = spec.get("thermal_limit_c")
    start = time.monotonic()
    temp = (fresh or snapshot.take_thermal(device)).max_cpu_temp_c
    if limit is None:
        return {"waited_s": 0.0, "temp_c": temp, "limit_c": None}
    deadline = start + float(spec.get("thermal_timeout_s", 300.0))
    while temp is not None and temp >= limit and time.monotonic() < deadline:
        _sleep(1.0, beat)
        temp = snapshot.take_thermal(device).max_cpu_temp_c
    return {
        "waited_s": round(time.monotonic() - start, 3),
        "temp_c": temp,
        "limit_c": limit,
        "timed_out": temp is not None and temp >= limit,
    }


def _measure(claim: Claim, beat: _Heartbeat) -> tuple[str, str, dict[str, Any] | None, str | None]:
    """Gates, trials and statistics. Returns (command, raw output, result fields or None, error or None)."""
    settings = get_settings()
    spec = claim.spec
    device = _device(claim.serial)
    before = snapshot.take(device)
    floor = int(spec.get("battery_floor", 0))
    if before.battery_level is not None and before.battery_level < floor and not before.charging:
        return (
            "",
            "",
            None,
            f"battery at {before.battery_level}% is below the floor of {floor}%: charge the phone",
        )
    if spec.get("screen_off"):
        run(device, "input keyevent KEYCODE_SLEEP")  # not every phone (or virtual phone) has `input`
    model_remote = install.model_path(claim.model_sha256)
    chosen = benchmark_binary.choose(device, claim.model_sha256)  # by the phone's abilist: real or virtual
    binary_remote = install.binary_path(chosen.info.sha256[:12])
    install.ensure(
        device,
        [
            install.Upload(Path(claim.model_path), model_remote),
            install.Upload(chosen.local, binary_remote, executable=True),
        ],
    )
    supported = benchmark_binary.supported_flags(device, chosen.info, binary_remote)
    if (flag := benchmark.missing_delegate_flag(claim.delegate, supported)) is not None:
        raise benchmark_binary.HostMisconfigured(
            f"benchmark binary {chosen.info.sha256[:12]} (version {chosen.info.tool_version or '?'}) has no "
            f"--{flag}: it cannot run the {claim.delegate} delegate; fetch a newer build "
            f"('farm binary fetch --abi {chosen.info.abi}')"
        )
    skipped = benchmark.unapplied(claim.delegate, claim.threads, spec, supported)
    command = benchmark.build_command(
        binary_remote, model_remote, claim.delegate, claim.threads, spec, supported
    )
    n_trials = int(spec.get("trials", 1))
    log.info("run=%s starting %d trial(s): %s", claim.run_id, n_trials, command)
    measured: list[Trial] = []
    decision = protocol.next_trial(measured, spec)
    outputs: list[str] = []
    parsed: list[benchmark_output.BenchmarkResult] = []
    gates = []
    walls: list[float] = []
    i = -1
    while decision.more:
        i += 1
        if i:
            _sleep(float(spec.get("cooldown_s", 0.0)), beat)
        gate = _thermal_gate(device, spec, beat, before if i == 0 else None)
        gates.append(gate)
        t0 = time.monotonic()
        out = run(device, command, timeout=settings.run_timeout_s)
        walls.append(round(time.monotonic() - t0, 4))
        outputs.append(f"=== trial {i + 1}/{n_trials} (gate: {gate}) ===\n{out.output}")
        raw = "\n".join(outputs)
        if beat.cancelled.is_set():
            raise Cancelled
        result = benchmark_output.parse(out.output)
        if isinstance(result, benchmark_output.BenchmarkFailure):
            return command, raw, None, f"{result.kind}: {result.message} (exit {out.exit_code})"
        if out.exit_code != 0:
            return command, raw, None, f"benchmark_model exited with {out.exit_code}"
        parsed.append(result)
        measured.append(_trial(result))
        decision = protocol.next_trial(measured, spec)
    sustained = None
    if spec.get("sustained_s"):
        segment = benchmark.build_command(
            binary_remote,
            model_remote,
            claim.delegate,
            claim.threads,
            protocol.sustained_spec(spec),
            supported,
        )
        sustained = _sustained(device, claim, spec, beat, outputs, segment)
    after = snapshot.take(device)
    # after the measured trials: op profiling slows every node, so it never enters the statistics
    placement = maybe_profile(
        device,
        binary_remote,
        model_remote,
        claim.delegate,
        claim.threads,
        spec,
        run_id=claim.run_id,
        timeout=settings.run_timeout_s,
    )
    numerics = maybe_numerics(device, binary_remote, model_remote, claim, timeout=settings.run_timeout_s)
    trials = measured
    summary = summarize(trials, float(spec.get("unstable_cv", 0.05)))
    benchmark_binary.note_version(chosen.info, parsed[-1].tool_version)
    env = {
        "command": command,
        "binary": {
            "sha256": chosen.info.sha256,
            "abi": chosen.info.abi,
            "flex": chosen.info.flex,
            "tool_version": chosen.info.tool_version or parsed[-1].tool_version,
        },
        "unapplied_settings": skipped,
        "format": parsed[-1].format,
        "delegate_coverage": parsed[-1].delegate_coverage,
        "cpu_fallback": parsed[-1].cpu_fallback,
        "op_profile": [asdict(row) for row in parsed[-1].op_profile],
        "placement": placement,
        "numerics_output": numerics,
        "trials": [asdict_trial(t) for t in trials],
        "precision": protocol.precision_record(trials, spec, decision),
        "ci_refused": summary.ci_refused,
        "sustained": sustained,
        "gates": gates,
        "trial_wall_s": walls,
        "fingerprint": before.fingerprint,
        "cpu_freqs_khz": {"before": before.cpu_freqs_khz, "after": after.cpu_freqs_khz},
    }
    fields = _result_fields(parsed[0], parsed[-1], summary, before, after, env)
    return command, "\n".join(outputs), fields, None


def _trial(p: benchmark_output.BenchmarkResult) -> Trial:
    return Trial(p.avg_us, p.count or 1, p.std_us or 0.0, p.min_us, p.max_us, p.median_us, p.p95_us)


def _sustained(
    device: AdbDevice, claim: Claim, spec: dict[str, Any], beat: _Heartbeat, outputs: list[str], command: str
) -> dict[str, Any]:
    """Back-to-back short invocations for `sustained_s`; one (time, latency, temperature) sample each."""
    settings = get_settings()
    _thermal_gate(device, spec, beat, None)  # cold means cold: the trials may have warmed the phone
    series = protocol.Sustained()
    latest: list[float | None] = [None]
    done = threading.Event()

    def watch() -> None:  # temperatures from a second shell, so the segments run back to back
        while not done.is_set():
            try:
                latest[0] = snapshot.take_thermal(device).max_cpu_temp_c
            except Exception:  # a missed reading must not end the run
                log.debug("sustained temperature read failed", exc_info=True)
            done.wait(0.5)

    watcher = threading.Thread(target=watch, daemon=True, name=f"sustained-{claim.run_id}")
    watcher.start()
    start = time.monotonic()
    try:
        while time.monotonic() - start < float(spec["sustained_s"]):
            out = run(device, command, timeout=settings.run_timeout_s)
            if beat.cancelled.is_set():
                raise Cancelled
            result = benchmark_output.parse(out.output)
            if isinstance(result, benchmark_output.BenchmarkFailure) or out.exit_code != 0:
                outputs.append(f"=== sustained segment failed ===\n{out.output}")
                break
            series.add(protocol.Sample(round(time.monotonic() - start, 3), result.avg_us, latest[0]))
    finally:
        done.set()
        watcher.join(5)
    return series.report()


def asdict_trial(t: Trial) -> dict[str, Any]:
    return {
        "avg_us": t.avg_us,
        "count": t.count,
        "std_us": t.std_us,
        "min_us": t.min_us,
        "max_us": t.max_us,
        "median_us": t.median_us,
        "p95_us": t.p95_us,
    }


def execute_claimed(claim: Claim) -> str:
    with log_context(job_id=claim.job_id, run_id=claim.run_id, device=claim.serial):
        if inference_run.is_inference(claim):  # an image through the model, not a benchmark
            return inference_run.execute(claim)
        return _execute_claimed(claim)


def _execute_claimed(claim: Claim) -> str:
    beat = _Heartbeat(claim)
    beat.start()
    command = raw = None
    settled = False  # complete() and fail() release the phone's lease themselves
    try:
        command, raw, fields, error = _measure(claim, beat)
        with session_scope() as db:
            if fields is not None:
                stored = lifecycle.complete(db, claim, fields, raw, command)
                settled = True
                return RunState.succeeded if stored else "discarded"
            lifecycle.fail(db, claim, error or "unknown error", raw, command, device_lost=False)
            settled = True
            return RunState.failed
    except Cancelled:
        return RunState.cancelled
    except benchmark_binary.HostMisconfigured as exc:
        log.error("run=%s %s: %s", claim.run_id, FailureCause.host_misconfigured, exc)
        with session_scope() as db:
            lifecycle.fail(
                db,
                claim,
                f"{FailureCause.host_misconfigured}: {exc}",
                raw,
                command,
                device_lost=False,
                cause=FailureCause.host_misconfigured,
            )
        settled = True
        return RunState.failed
    except (DeviceLost, CommandTimeout, ConnectionError) as exc:
        lost = isinstance(exc, DeviceLost | ConnectionError)
        reason = str(exc) if lost else f"benchmark timed out: {exc}"
        log.warning("run=%s job=%s phone=%s %s", claim.run_id, claim.job_id, claim.serial, reason)
        with session_scope() as db:
            target = lifecycle.fail(db, claim, reason, raw, command, device_lost=lost)
        settled = True
        if target:
            dispatch([target])
        return "retrying" if target else RunState.failed
    except Exception as exc:
        log.exception("run=%s failed unexpectedly", claim.run_id)
        with session_scope() as db:
            lifecycle.fail(db, claim, f"internal error: {exc!r}", raw, command, device_lost=False)
        settled = True
        return RunState.failed
    finally:
        beat.stop.set()
        if not settled:  # cancelled, or a transition itself failed: give the phone back anyway
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
            next_id = lifecycle.next_run(db, device_id)  # fair across users, then oldest
            if next_id is None:
                break
            outcome, nxt = lifecycle.claim(db, next_id, WORKER_NAME)
        if outcome != ClaimOutcome.claimed or not isinstance(nxt, Claim):
            break
        state = execute_claimed(nxt)
    return Outcome(state)
