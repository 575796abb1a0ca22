"""Statistics of repeated benchmark trials, and comparisons that know their noise.

`benchmark_model` reports per-run summaries (count, avg, std, min, max), not every
inference, so the unit of repetition is the trial: several invocations separated by a
cool-down. The spread between trials is what a user meets when rerunning a job, so
the confidence interval of the median is built from trial medians (Student t on the
trial averages; with a single trial, from the within-trial spread), and a result is
flagged unstable when its coefficient of variation passes a threshold or its trials
disagree with each other by more than their own noise explains.
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
Z90 = 1.2816
MEDIAN_EFFICIENCY = 1.2533  # sqrt(pi/2): std error of a normal sample's median over that of its mean


def t975(dof: int) -> float:
    return _T975[dof - 1] if 1 <= dof <= len(_T975) else 1.96


@dataclass(frozen=True)
class Trial:
    avg_us: float
    count: int
    std_us: float = 0.0
    min_us: float | None = None
    max_us: float | None = None
    median_us: float | None = None


@dataclass
class Summary:
    trials: int
    count: int
    mean_us: float
    median_us: float
    std_us: float
    p90_us: float
    min_us: float
    max_us: float
    cv: float
    ci95_low_us: float
    ci95_high_us: float
    unstable: bool
    reasons: list[str] = field(default_factory=list)
    method: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(trials: list[Trial], cv_threshold: float = 0.05) -> Summary:
    if not trials:
        raise ValueError("no trials to summarise")
    n = sum(t.count for t in trials)
    mean = sum(t.avg_us * t.count for t in trials) / n
    # pooled variance: within-trial plus between-trial
    within = sum(t.count * t.std_us**2 for t in trials) / n
    between = sum(t.count * (t.avg_us - mean) ** 2 for t in trials) / n
    std = math.sqrt(within + between)
    centers = [t.median_us if t.median_us is not None else t.avg_us for t in trials]
    median = statistics.median(centers)
    k = len(trials)
    if k >= 2:
        se = statistics.stdev(centers) / math.sqrt(k)
        half = t975(k - 1) * se
        method = f"t interval over {k} trial medians"
    else:
        half = 1.96 * MEDIAN_EFFICIENCY * std / math.sqrt(max(n, 1))
        method = "normal interval from the single trial's spread"
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
    return Summary(
        trials=k,
        count=n,
        mean_us=mean,
        median_us=median,
        std_us=std,
        p90_us=mean + Z90 * std,
        min_us=min(mins) if mins else min(centers),
        max_us=max(maxs) if maxs else max(centers),
        cv=cv,
        ci95_low_us=median - half,
        ci95_high_us=median + half,
        unstable=bool(reasons),
        reasons=reasons,
        method=method + "; p90 from a normal fit of the pooled spread",
    )


@dataclass(frozen=True)
class Comparison:
    ratio: float  # b / a: above 1 means b is slower
    ratio_low: float
    ratio_high: float
    verdict: str  # faster | slower | indistinguishable


def compare(
    a_median: float, a_low: float, a_high: float, b_median: float, b_low: float, b_high: float
) -> Comparison:
    """Ratio of medians b/a with a 95% interval (delta method on the log scale)."""
    se_a = (math.log(a_high) - math.log(max(a_low, 1e-9))) / (2 * 1.96) if a_high > a_low else 0.0
    se_b = (math.log(b_high) - math.log(max(b_low, 1e-9))) / (2 * 1.96) if b_high > b_low else 0.0
    log_ratio = math.log(b_median / a_median)
    half = 1.96 * math.sqrt(se_a**2 + se_b**2)
    low, high = math.exp(log_ratio - half), math.exp(log_ratio + half)
    verdict = "slower" if low > 1 else "faster" if high < 1 else "indistinguishable"
    return Comparison(math.exp(log_ratio), low, high, verdict)
