"""Who caused a failed run: the phone, the model, the job's spec, or the farm itself.

Why this exists: a phone is quarantined after `FARM_QUARANTINE_AFTER` consecutive failures,
so every failure that is not the phone's fault but is counted against it lets any submitter
take phones out of the farm (a 272-byte model that fails ``AllocateTensors``, run on every
phone at five thread counts, quarantined the whole farm in 30 s). Only failures the phone
causes may count. This module is pure (no database, no I/O) so the worker, the lifecycle
and tests share one rule.

The worker records a failure as ``"<kind>: <message>"`` where kind is one of
`device_agent.benchmark_output.FAILURE_KINDS` (or ``timeout`` / ``internal`` / ``battery``);
`kind_of` reads it back, `blame_for` says whose it is on the evidence of one run.
The lifecycle adds the evidence across runs (the same failure on a second phone is the
model's; a job counts at most once against a phone).
"""

from __future__ import annotations

from contracts.vocabulary import FailureCause

Blame = FailureCause  # one vocabulary: contracts.vocabulary.FailureCause


# failure kinds that say the model or the spec is at fault whatever the phone
# (out_of_memory: the phone's low-memory killer killed benchmark_model; the model asked for the memory)
MODEL_KINDS = frozenset({"model_invalid", "unsupported_op", "allocation", "out_of_memory"})
SPEC_KINDS = frozenset({"bad_flag", "delegate"})
FARM_KINDS = frozenset({"internal", "binary", "host_misconfigured"})
KNOWN_KINDS = frozenset(
    {
        "model_missing",
        "model_invalid",
        "unsupported_op",
        "delegate",
        "bad_flag",
        "allocation",
        "out_of_memory",
        "invoke",
        "crash",
        "binary",
        "no_timings",
        "timeout",
        "internal",
        "battery",
        "exit",
        "host_misconfigured",
    }
)
# prefixes the worker writes that are not "<kind>: "
_PREFIXES = (
    ("benchmark timed out", "timeout"),
    ("internal error", "internal"),
    ("battery at", "battery"),
    ("benchmark_model exited with", "exit"),
)


def kind_of(error: str | None) -> str:
    """The failure kind a worker's error text starts with ("unknown" if none)."""
    text = (error or "")[:64]
    for prefix, kind in _PREFIXES:
        if text.startswith(prefix):
            return kind
    head = text.split(":", 1)[0].strip()
    return head if head in KNOWN_KINDS else "unknown"


def blame_for(kind: str, *, spec_can_time_out: bool = False) -> Blame:
    """Whose failure it is on the evidence of this one run.

    A timeout is the spec's when the spec allows the tool to run past the run timeout
    (max_secs beyond it); otherwise a hung phone is a phone failure until a second
    phone shows the same (see the lifecycle).
    """
    if kind in MODEL_KINDS:
        return Blame.model
    if kind in SPEC_KINDS:
        return Blame.spec
    if kind in FARM_KINDS:
        return Blame.host_misconfigured
    if kind == "timeout" and spec_can_time_out:
        return Blame.spec
    return Blame.phone


def min_trial_seconds(spec: dict[str, object]) -> float:
    """The least time one benchmark_model invocation of this spec can take, in seconds.

    benchmark_model measures until both num_runs and min_secs are met (capped by max_secs),
    after warmup_min_secs of warm-up, sleeping run_delay between inferences.
    """

    def num(key: str, default: float) -> float:
        value = spec.get(key, default)
        return float(value) if isinstance(value, int | float) else default

    min_secs = min(num("min_secs", 1.0), num("max_secs", 150.0))
    delay = max(num("run_delay", -1.0), 0.0)
    inferences = num("num_runs", 50) + num("warmup_runs", 1)
    return num("warmup_min_secs", 0.5) + max(min_secs, delay * inferences)


def max_trial_seconds(spec: dict[str, object]) -> float:
    """How long the tool may run when the model is slow: warm-up plus max_secs (its own cap)."""
    value = spec.get("max_secs", 150.0)
    warm = spec.get("warmup_min_secs", 0.5)
    return (float(value) if isinstance(value, int | float) else 150.0) + (
        float(warm) if isinstance(warm, int | float) else 0.5
    )
