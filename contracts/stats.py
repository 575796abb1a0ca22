"""Statistics of repeated benchmark trials, and comparisons that know their noise.

What is measured: `benchmark_model` prints one summary per invocation (count, avg, std,
min, max; newer builds add p5/median/p95 of the inferences). The farm repeats the
invocation (a *trial*) behind a cool-down and a thermal gate, so the values it really
has are one centre per trial (the tool's median when it gives one, else its average).

Honesty rules this module keeps:
- A percentile is only ever computed over values that exist: `trial_p90_us` is the 90th
  percentile of the trial centres (linear interpolation, Hyndman–Fan type 7), and is named
  so; the tool's own per-inference p95 is passed through as `tool_p95_us` when printed.
  Nothing is derived from a normal fit and stored under a percentile's name.
- The 95 % interval of the median is a Student-t interval on the log of the trial centres
  (so it can never go below zero, and a ratio of two of them is symmetric), with the
  spread floored by the within-trial standard error: identical trials do not give a
  zero-width interval, and two trials give a wide but finite one (t with 1 dof = 12.7).
  One trial gives no interval at all: rerun-to-rerun variation is unknown, and the reason
  is returned instead (`ci_refused`).
- `ci_half_pct` is the precision reached (half-width as % of the median);
  `detectable_pct` is the smallest slowdown a comparison against an equally precise
  result detects with 80 % power at 95 % confidence.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

# two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom
_T975 = [
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
]
Z80_POWER = 0.8416  # one-sided normal quantile for 80 % power
TIMER_RESOLUTION_US = 1.0  # benchmark_model prints whole microseconds


def t975(dof: int) -> float:
    return _T975[dof - 1] if 1 <= dof <= len(_T975) else 1.96


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of values, linear interpolation between order statistics (type 7)."""
    if not values:
        raise ValueError("percentile of no values")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass(frozen=True)
class Trial:
    avg_us: float
    count: int
    std_us: float = 0.0
    min_us: float | None = None
    max_us: float | None = None
    median_us: float | None = None
    p95_us: float | None = None  # the tool's own per-inference p95, when the build prints it

    @property
    def center_us(self) -> float:
        return self.median_us if self.median_us is not None else self.avg_us


@dataclass(frozen=True)
class MedianCI:
    """95 % interval of the median of trial centres, or the reason there is none."""

    median_us: float
    low_us: float | None
    high_us: float | None
    half_pct: float | None  # half-width on the log scale, as % of the median
    detectable_pct: float | None
    method: str
    refused: str | None = None


def median_ci(trials: list[Trial]) -> MedianCI:
    """The interval described in the module docstring."""
    if not trials:
        raise ValueError("no trials to summarise")
    centers = [t.center_us for t in trials]
    median = statistics.median(centers)
    k = len(trials)
    if k < 2:
        return MedianCI(
            median,
            None,
            None,
            None,
            None,
            "no interval",
            refused="one trial: the rerun-to-rerun spread is unknown; run 2 or more trials for an interval",
        )
    if min(centers) <= 0:
        return MedianCI(
            median, None, None, None, None, "no interval", refused="a trial reported a non-positive time"
        )
    logs = [math.log(c) for c in centers]
    s_between = statistics.stdev(logs)
    # each trial centre's own standard error (relative), from its inferences; a floor for s_between
    within = [
        math.hypot(t.std_us / math.sqrt(max(t.count, 1)), TIMER_RESOLUTION_US / math.sqrt(12)) / t.center_us
        for t in trials
    ]
    s_within = math.sqrt(sum(w * w for w in within) / k)
    s = max(s_between, s_within)
    se = s / math.sqrt(k)
    t = t975(k - 1)
    half = t * se
    floor_note = " (floored by the within-trial spread)" if s_within > s_between else ""
    return MedianCI(
        median_us=median,
        low_us=median * math.exp(-half),
        high_us=median * math.exp(half),
        half_pct=(math.exp(half) - 1) * 100,
        detectable_pct=(math.exp((t + Z80_POWER) * math.sqrt(2) * se) - 1) * 100,
        method=f"Student t on the log of {k} trial values{floor_note}",
    )


@dataclass
class Summary:
    trials: int
    count: int
    mean_us: float
    median_us: float
    std_us: float
    trial_p90_us: float  # 90th percentile over the trial values (not over inferences)
    tool_p95_us: float | None  # median over trials of the tool's own per-inference p95
    min_us: float
    max_us: float
    cv: float
    ci95_low_us: float | None
    ci95_high_us: float | None
    ci_half_pct: float | None
    detectable_pct: float | None
    unstable: bool
    reasons: list[str] = field(default_factory=list)
    method: str = ""
    ci_refused: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(trials: list[Trial], cv_threshold: float = 0.05) -> Summary:
    if not trials:
        raise ValueError("no trials to summarise")
    n = sum(t.count for t in trials)
    mean = sum(t.avg_us * t.count for t in trials) / n
    # pooled variance of single inferences: within-trial plus between-trial
    within = sum(t.count * t.std_us**2 for t in trials) / n
    between = sum(t.count * (t.avg_us - mean) ** 2 for t in trials) / n
    std = math.sqrt(within + between)
    ci = median_ci(trials)
    centers = [t.center_us for t in trials]
    median = ci.median_us
    k = len(trials)
    cv = std / mean if mean else 0.0
    reasons = []
    if cv > cv_threshold:
        reasons.append(f"coefficient of variation {cv:.1%} is above {cv_threshold:.0%}")
    if k >= 2:
        spread = (max(centers) - min(centers)) / median if median else 0.0
        noise = (
            3 * math.sqrt(within) / math.sqrt(max(min(t.count for t in trials), 1)) / median if median else 0
        )
        if spread > max(2 * cv_threshold, noise):
            reasons.append(f"trials disagree: their medians span {spread:.1%} of the median")
    mins = [t.min_us for t in trials if t.min_us is not None]
    maxs = [t.max_us for t in trials if t.max_us is not None]
    p95s = [t.p95_us for t in trials if t.p95_us is not None]
    return Summary(
        trials=k,
        count=n,
        mean_us=mean,
        median_us=median,
        std_us=std,
        trial_p90_us=percentile(centers, 90),
        tool_p95_us=statistics.median(p95s) if len(p95s) == k else None,
        min_us=min(mins) if mins else min(centers),
        max_us=max(maxs) if maxs else max(centers),
        cv=cv,
        ci95_low_us=ci.low_us,
        ci95_high_us=ci.high_us,
        ci_half_pct=ci.half_pct,
        detectable_pct=ci.detectable_pct,
        unstable=bool(reasons),
        reasons=reasons,
        method=f"{ci.method}; median and p90 over {k} trial value(s)",
        ci_refused=ci.refused,
    )


@dataclass(frozen=True)
class Comparison:
    ratio: float  # b / a: above 1 means b is slower
    ratio_low: float | None
    ratio_high: float | None
    verdict: str  # faster | slower | indistinguishable | unknown
    reason: str | None = None


def compare(
    a_median: float,
    a_low: float | None,
    a_high: float | None,
    b_median: float,
    b_low: float | None,
    b_high: float | None,
) -> Comparison:
    """Ratio of medians b/a with a 95 % interval on the log scale.

    Each side's interval is a 95 % one; their log half-widths add in quadrature. Without
    an interval on either side there is no verdict ("unknown"), never a zero-width one.
    """
    ratio = b_median / a_median
    sides = ((a_median, a_low, a_high), (b_median, b_low, b_high))
    if any(lo is None or hi is None or lo <= 0 or hi < lo for _, lo, hi in sides):
        return Comparison(ratio, None, None, "unknown", "a result has no confidence interval (one trial?)")
    halves = [(math.log(hi) - math.log(lo)) / 2 for _, lo, hi in sides]  # type: ignore[arg-type]
    half = math.sqrt(sum(h * h for h in halves))
    log_ratio = math.log(ratio)
    low, high = math.exp(log_ratio - half), math.exp(log_ratio + half)
    verdict = "slower" if low > 1 else "faster" if high < 1 else "indistinguishable"
    return Comparison(ratio, low, high, verdict)
