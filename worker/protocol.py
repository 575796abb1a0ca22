"""The measurement protocol's decisions, as pure functions the runner calls.

Why separate: how many trials to run (adaptive precision) and what a sustained run shows
(cold vs sustained latency) are statistics, not plumbing. Keeping them free of adb, the
database and Celery lets them be unit-tested exactly and lets the runner (rewritten to talk
to the API instead of the database) call them in a few lines.

- Adaptive precision (`target_ci_pct`): after the job's `trials`, keep adding trials while
  the 95 % interval of the median is wider than the target, up to `max_trials`.
- Sustained (`sustained_s`): the model runs back to back in short invocations for that long;
  each invocation gives one (time, latency, temperature) sample. Cold latency is the first
  sample's, sustained latency the median of the last quarter, their ratio, and the time at
  which latency first exceeds cold by 10 %.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from contracts.jobs import BenchmarkSpec
from contracts.stats import Trial, median_ci

DEFAULT_MAX_TRIALS = 20
SUSTAINED_SEGMENT_S = 2.0


@dataclass(frozen=True)
class TrialDecision:
    more: bool
    reason: str


SpecLike = BenchmarkSpec | Mapping[str, Any]


def _value(spec: SpecLike, key: str, default: Any = None) -> Any:
    """A spec's setting, from the typed spec a claim carries or a plain mapping (tests, tools)."""
    if isinstance(spec, BenchmarkSpec):
        return getattr(spec, key)
    return spec.get(key, default)


def next_trial(trials: list[Trial], spec: SpecLike) -> TrialDecision:
    """Whether the runner should run another trial, and why (recorded with the result)."""
    minimum = int(_value(spec, "trials", 1))
    if len(trials) < minimum:
        return TrialDecision(True, f"{len(trials)} of {minimum} trials")
    target = _value(spec, "target_ci_pct")
    if target is None:
        return TrialDecision(False, f"{minimum} trials run")
    cap = max(minimum, int(_value(spec, "max_trials") or DEFAULT_MAX_TRIALS))
    if len(trials) < min(3, cap):  # two values estimate their own spread too poorly to stop on
        return TrialDecision(True, "an adaptive stop needs 3 trials")
    ci = median_ci(trials)
    if ci.half_pct is not None and ci.half_pct <= float(target):
        return TrialDecision(
            False, f"target reached: ±{ci.half_pct:.2f} % ≤ {float(target):g} % after {len(trials)}"
        )
    if len(trials) >= cap:
        reached = f"±{ci.half_pct:.2f} %" if ci.half_pct is not None else "no interval"
        return TrialDecision(False, f"max_trials {cap} reached at {reached} (target {float(target):g} %)")
    return TrialDecision(True, "interval wider than the target")


def precision_record(trials: list[Trial], spec: SpecLike, decision: TrialDecision) -> dict[str, Any]:
    ci = median_ci(trials)
    return {
        "target_ci_pct": _value(spec, "target_ci_pct"),
        "max_trials": _value(spec, "max_trials"),
        "trials": len(trials),
        "ci_half_pct": ci.half_pct,
        "detectable_regression_pct": ci.detectable_pct,
        "stopped": decision.reason,
    }


@dataclass(frozen=True)
class Sample:
    t_s: float  # since the sustained run started
    latency_us: float
    temp_c: float | None
    freq_khz: int | None = None


@dataclass
class Sustained:
    samples: list[Sample] = field(default_factory=list)

    def add(self, sample: Sample) -> None:
        self.samples.append(sample)

    def report(self) -> dict[str, Any]:
        return sustained_report(self.samples)


def sustained_report(samples: list[Sample]) -> dict[str, Any]:
    """Cold, sustained, ratio and time to +10 % from a sustained run's samples."""
    if not samples:
        return {"samples": [], "cold_us": None, "sustained_us": None, "ratio": None, "time_to_plus10_s": None}
    cold = samples[0].latency_us
    tail = samples[-max(1, len(samples) // 4) :]
    sustained = statistics.median(s.latency_us for s in tail)
    first_slow = next((s.t_s for s in samples if s.latency_us > 1.10 * cold), None)
    return {
        "samples": [asdict(s) for s in samples],
        "cold_us": cold,
        "sustained_us": sustained,
        "ratio": sustained / cold if cold else None,
        "time_to_plus10_s": first_slow,
    }


def sustained_spec(spec: BenchmarkSpec) -> BenchmarkSpec:
    """The benchmark flags of one sustained segment: measured time only, no warm-up, no gaps."""
    segment = float(spec.sustained_segment_s or SUSTAINED_SEGMENT_S)
    return spec.model_copy(
        update={"num_runs": 1, "min_secs": segment, "warmup_runs": 0, "warmup_min_secs": 0.0}
    )
