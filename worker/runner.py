"""Executing one run on one phone: the logic behind the thin Celery task.

claim (run + phone lease, through the API) → snapshot → fetch the model by sha256 into this
host's cache and push it (and the binary) if the phone lacks it → benchmark under a deadline
while heartbeating → parse → hand back exactly one result, or why not.
After a run the same worker drains the phone's other queued runs (claim-next), so a job's
runs on a phone follow each other without a broker round trip, and a message for a busy
phone is simply acknowledged: the phone's drain loop takes that run next (no polling).

The worker never opens the database nor the API host's files: see worker/api_client.py.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from adbutils import AdbClient, AdbDevice

from contracts.failures import kind_of
from contracts.jobs import BenchmarkSpec
from contracts.logs import log_context
from contracts.runs import Claim, FileRef, ResultRecord
from contracts.settings import get_settings
from contracts.stats import Summary, Trial, summarize
from contracts.vocabulary import ClaimOutcome, FailureCause, RunState
from device_agent import benchmark_output
from device_agent.adb_client import FarmAdbClient
from device_agent.api_client import ApiError, FarmUnreachable
from device_agent.phone import benchmark, install, logcat, snapshot
from device_agent.phone.shell import TRANSPORT_ERRORS, CommandTimeout, DeviceLost, run
from worker import benchmark_binary, inference_run, protocol
from worker.api_client import WorkerApi
from worker.cache import CorruptDownload, FileCache
from worker.numerics_trial import maybe_numerics
from worker.op_profile_trial import maybe_profile

log = logging.getLogger("phonefarm.worker")
WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"

PHONE_LOST: tuple[type[BaseException], ...] = (DeviceLost, *TRANSPORT_ERRORS)
"""A phone vanishing mid-run, whichever layer noticed: the run moves on, the phone isn't blamed."""
LOST_OR_TIMED_OUT: tuple[type[BaseException], ...] = (*PHONE_LOST, CommandTimeout)


@dataclass(frozen=True)
class Outcome:
    state: str


@dataclass(frozen=True)
class Measurement:
    """What measuring a claimed run produced: a result record, or the reason there is none."""

    command: str
    raw_output: str
    record: ResultRecord | None = None
    error: str | None = None


@cache
def _api() -> WorkerApi:
    return WorkerApi(worker=WORKER_NAME)


@cache
def _cache() -> FileCache:
    s = get_settings()
    return FileCache(s.cache_dir, s.cache_max_mb << 20)


def _adb() -> AdbClient:
    s = get_settings()
    # every wait on a phone is bounded: pushes, pulls and feature queries had no timeout at all
    # (adbutils opens sync connections with none), so a phone that stopped answering one held
    # the run, heartbeating, for ever; a command passes its own (run_timeout_s for a benchmark)
    return FarmAdbClient(host=s.adb_host, port=s.adb_port, socket_timeout=s.run_timeout_s)


def _device(serial: str) -> AdbDevice:
    # no list() round trip: a phone that is gone or unauthorized fails its first command with DeviceLost
    return _adb().device(serial)


class _Heartbeat(threading.Thread):
    """Keeps the run and lease fresh; notices a cancel and tells the executor to stop.

    Every fifth of `stale_run_s` (6 s by default; it was a fixed 2 s): a run survives four
    late beats before the reconciler takes it over, and 80 busy phones no longer send the
    API 40 heartbeats a second, each updating the run and the phone's row.
    """

    def __init__(self, claim: Claim, period: float | None = None) -> None:
        super().__init__(daemon=True, name=f"beat-{claim.run_id}")
        self.claim = claim
        self.period = period if period is not None else max(0.5, get_settings().stale_run_s / 5)
        self.stop = threading.Event()
        self.cancelled = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.period):
            try:
                alive = _api().beat(self.claim)
            except Exception as exc:  # an API hiccup must not kill the benchmark
                log.warning("heartbeat failed run=%s: %s", self.claim.run_id, exc)
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
) -> ResultRecord:
    return ResultRecord(
        # cold-start figures come from the first trial, when the model was loaded fresh
        init_us=first.init_us,
        first_inference_us=first.first_inference_us,
        warmup_avg_us=first.warmup_avg_us,
        avg_us=summary.mean_us,
        min_us=summary.min_us,
        max_us=summary.max_us,
        std_us=summary.std_us,
        median_us=summary.median_us,
        mean_us=summary.mean_us,
        trial_p90_us=summary.trial_p90_us,
        tool_p95_us=summary.tool_p95_us,
        ci_half_pct=summary.ci_half_pct,
        detectable_pct=summary.detectable_pct,
        cv=summary.cv,
        ci95_low_us=summary.ci95_low_us,
        ci95_high_us=summary.ci95_high_us,
        trials=summary.trials,
        unstable=summary.unstable,
        unstable_reason=("; ".join(summary.reasons)[:500] or None),
        count=summary.count,
        mem_init_mb=last.memory_init_mb,
        mem_overall_mb=last.memory_overall_mb,
        mem_peak_mb=last.peak_memory_mb,
        tool_version=last.tool_version,
        delegate_applied=last.delegate_applied,
        battery_before=before.battery_level,
        battery_after=after.battery_level,
        temp_before_c=before.max_cpu_temp_c,
        temp_after_c=after.max_cpu_temp_c,
        env=env | {"before": before.as_dict(), "after": after.as_dict(), "stats": summary.as_dict()},
    )


class Cancelled(Exception):
    """The run was cancelled while it was being measured."""


class FetchFailed(Exception):
    """The model could not be fetched from the API (or arrived damaged): nobody's fault here."""


def _sleep(seconds: float, beat: _Heartbeat) -> None:
    if beat.cancelled.wait(seconds):
        raise Cancelled


def _thermal_gate(
    device: AdbDevice, spec: BenchmarkSpec, beat: _Heartbeat, fresh: snapshot.Snapshot | None
) -> dict[str, Any]:
    """Wait until the hottest CPU zone is under the limit (or the timeout passes)."""
    limit = spec.thermal_limit_c
    start = time.monotonic()
    temp = (fresh or snapshot.take_thermal(device)).max_cpu_temp_c
    if limit is None:
        return {"waited_s": 0.0, "temp_c": temp, "limit_c": None}
    deadline = start + spec.thermal_timeout_s
    while temp is not None and temp >= limit and time.monotonic() < deadline:
        _sleep(1.0, beat)
        temp = snapshot.take_thermal(device).max_cpu_temp_c
    return {
        "waited_s": round(time.monotonic() - start, 3),
        "temp_c": temp,
        "limit_c": limit,
        "timed_out": temp is not None and temp >= limit,
    }


def _fetch(ref: FileRef) -> Path:
    """A file of the API's (model, binary) from this host's cache, fetched by sha256 if missing."""
    return _cache().get(ref, _api().stream)


def _model(claim: Claim) -> install.Upload:
    """The model from this host's cache (fetched by sha256 through the API when missing)."""
    try:
        local = _fetch(claim.model)
    except (ApiError, httpx.HTTPError, CorruptDownload, OSError) as exc:
        raise FetchFailed(f"could not fetch model {claim.model.sha256[:12]}… from the API: {exc}") from exc
    return install.Upload(local, install.model_path(claim.model.sha256), claim.model.sha256)


def _measure(claim: Claim, beat: _Heartbeat) -> Measurement:
    """Gates, trials and statistics."""
    settings = get_settings()
    spec = claim.spec
    device = _device(claim.serial)
    before = snapshot.take(device)
    floor = spec.battery_floor
    if before.battery_level is not None and before.battery_level < floor and not before.charging:
        return Measurement(
            "",
            "",
            error=f"battery at {before.battery_level}% is below the floor of {floor}%: charge the phone",
        )
    if spec.screen_off:
        run(device, "input keyevent KEYCODE_SLEEP")  # not every phone (or virtual phone) has `input`
    model = _model(claim)
    # by the phone's abilist (real or virtual), known once per build
    chosen = benchmark_binary.choose(device, claim, _fetch, before.fingerprint)
    binary_remote = install.binary_path(chosen.info.sha256[:12])
    install.ensure(
        device, [model, install.Upload(chosen.local, binary_remote, chosen.info.sha256, executable=True)]
    )
    model_remote = model.remote
    report = _api().capabilities
    supported = benchmark_binary.supported_flags(device, chosen.info, binary_remote, report)
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
    n_trials = spec.trials
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
            _sleep(spec.cooldown_s, beat)
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
            return Measurement(command, raw, error=f"{result.kind}: {result.message} (exit {out.exit_code})")
        if out.exit_code != 0:
            return Measurement(command, raw, error=f"benchmark_model exited with {out.exit_code}")
        parsed.append(result)
        measured.append(_trial(result))
        decision = protocol.next_trial(measured, spec)
    sustained = None
    if spec.sustained_s:
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
    numerics = maybe_numerics(
        device,
        binary_remote,
        model_remote,
        claim,
        _fetch(claim.model),
        timeout=settings.run_timeout_s,
        upload=lambda path: _api().upload_run_file(claim, "numerics-output", path),
    )
    trials = measured
    summary = summarize(trials, spec.unstable_cv)
    benchmark_binary.note_version(chosen.info, parsed[-1].tool_version, report)
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
    record = _result_fields(parsed[0], parsed[-1], summary, before, after, env)
    return Measurement(command, "\n".join(outputs), record=record)


def _trial(p: benchmark_output.BenchmarkResult) -> Trial:
    return Trial(p.avg_us, p.count or 1, p.std_us or 0.0, p.min_us, p.max_us, p.median_us, p.p95_us)


def _sustained(
    device: AdbDevice, claim: Claim, spec: BenchmarkSpec, beat: _Heartbeat, outputs: list[str], command: str
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
        while time.monotonic() - start < float(spec.sustained_s or 0.0):
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
    return settle(claim, lambda beat: _benchmark(claim, beat), "benchmark")


def _benchmark(claim: Claim, beat: _Heartbeat) -> str:
    """Measure, then hand back the result or why there is none (either settles the run)."""
    api = _api()
    measured = _measure(claim, beat)
    if measured.record is not None:
        stored = api.complete(claim, measured.record, measured.raw_output, measured.command)
        return RunState.succeeded if stored else "discarded"
    error, raw = with_phone_log(claim, measured.error, measured.raw_output)
    api.fail(claim, error, raw, measured.command, device_lost=False)
    return RunState.failed


def with_phone_log(claim: Claim, error: str | None, raw_output: str | None) -> tuple[str, str | None]:
    """A failed run's error and output with the phone's own log, which says why a benchmark or an
    inference died (delegate errors, native crashes, the low-memory killer: then the model's)."""
    log_text = logcat.tail(_device(claim.serial))
    raw = logcat.with_log(raw_output, log_text)
    return out_of_memory(error, log_text) or error or "unknown error", raw


def settle(claim: Claim, work: Callable[[_Heartbeat], str], what: str) -> str:
    """Run `work` (which completes or fails the run itself) under a heartbeat, and settle the run
    exactly once whatever it raises; the phone's lease is given back in every case.

    One place for a benchmark run and an inference run (worker/inference_run.py): the two
    copies of these branches had started to differ in what they logged and sent.
    """
    api = _api()
    beat = _Heartbeat(claim)
    beat.start()
    settled = False  # complete() and fail() release the phone's lease themselves
    try:
        state = work(beat)
        settled = True
        return state
    except Cancelled:
        return RunState.cancelled
    except benchmark_binary.HostMisconfigured as exc:
        log.error("run=%s %s: %s", claim.run_id, FailureCause.host_misconfigured, exc)
        cause = FailureCause.host_misconfigured
        api.fail(claim, f"{cause}: {exc}", None, None, device_lost=False, cause=cause)
        settled = True
        return RunState.failed
    except FetchFailed as exc:
        # not the phone's fault: the lease goes back and the run, silent, is requeued by the reconciler
        log.error("run=%s %s", claim.run_id, exc)
        return "fetch-failed"
    except FarmUnreachable as exc:
        # the API did not answer, even after retries (restarting, overloaded): not the phone's, the
        # model's or the user's doing, so the run is not failed. Left running without heartbeats,
        # the reconciler queues it again after stale_run_s (seen at 500 phones on a loaded host).
        log.error("run=%s the API did not answer: %s; the run will be queued again", claim.run_id, exc)
        return "api-unreachable"
    except LOST_OR_TIMED_OUT as exc:
        lost = not isinstance(exc, CommandTimeout)
        reason = f"phone lost: {exc!r}" if lost else f"{what} timed out: {exc}"
        log.warning("run=%s job=%s phone=%s %s", claim.run_id, claim.job_id, claim.serial, reason)
        retrying = api.fail(claim, reason, None, None, device_lost=lost)
        settled = True
        return "retrying" if retrying else RunState.failed
    except Exception as exc:
        log.exception("run=%s %s failed unexpectedly", claim.run_id, what)
        api.fail(claim, f"internal error: {exc!r}", None, None, device_lost=False)
        settled = True
        return RunState.failed
    finally:
        beat.stop.set()
        if not settled:  # cancelled, or a transition itself failed: give the phone back anyway
            try:
                api.release(claim)
            except Exception as exc:  # the lease expires by itself (stale_run_s)
                log.warning("run=%s could not release the phone: %s", claim.run_id, exc)


def out_of_memory(error: str | None, log_text: str) -> str | None:
    """The error as the model's when the low-memory killer killed benchmark_model, else None.

    Why: on a phone an out-of-memory model is killed (exit 137, "Killed"), which the output
    alone reports as a crash, counted against the phone; lmkd's line in logcat says the model
    asked for the memory, so no phone is quarantined for a hostile model.
    """
    text = error or ""
    killed = "(exit 137)" in text or text.startswith("benchmark_model exited with 137")
    if kind_of(text) not in ("crash", "exit", "no_timings") or not killed:
        return None
    line = logcat.low_memory_kill(log_text)
    if line is None:
        return None
    return f"out_of_memory: the phone's low-memory killer killed benchmark_model ({line})"


DRAINING = (RunState.succeeded, RunState.failed, RunState.cancelled, "discarded")


def execute(run_id: int) -> Outcome:
    """Run `run_id` if it still needs running, then drain the phone's other queued runs."""
    api = _api()
    reply = api.claim(run_id)
    if reply.outcome != ClaimOutcome.claimed or reply.claim is None:
        # busy: the worker holding the phone takes this run when it drains (claim-next)
        log.info("run=%s %s", run_id, reply.outcome)
        return Outcome(reply.outcome)
    state = execute_claimed(reply.claim)
    device_id = reply.claim.device_id
    while state in DRAINING:
        nxt = api.claim_next(device_id)
        if nxt.outcome != ClaimOutcome.claimed or nxt.claim is None:
            break
        state = execute_claimed(nxt.claim)
    return Outcome(state)
