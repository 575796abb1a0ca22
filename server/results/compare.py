"""Two jobs compared phone by phone: faster, slower or not distinguishable, with the ratio's interval.

This is what gates a model change in CI: `farm compare A B --fail-on-regression 5%`
fails (exit 1) when b is slower beyond noise *and* by more than the tolerance, and fails
with exit 2 when the comparison is incomplete: a phone/setting measured in one job only, a
run of either job that did not succeed, or nothing compared at all. A gate that passes on
nothing compared lets every broken candidate through; `--allow-missing` accepts a partial
comparison explicitly.
"""

from __future__ import annotations

import math

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.labels import unique_phone_labels
from contracts.stats import compare
from contracts.vocabulary import RunState
from server.auth.service import Principal
from server.devices.models import Device
from server.jobs.service import get_job
from server.results.models import Result


class PairOut(BaseModel):
    device_id: int
    device: str | None
    soc: str | None
    delegate: str
    threads: int
    a_median_us: float
    b_median_us: float
    ratio: float
    ratio_low: float | None
    ratio_high: float | None
    verdict: str  # faster | slower | indistinguishable | unknown (no interval on a side)
    unstable: bool
    reason: str | None = None
    a_ci_half_pct: float | None = None  # precision each side reached
    b_ci_half_pct: float | None = None
    detectable_pct: float | None = None  # smallest slowdown this pair could show


class CompareOut(BaseModel):
    a: int
    b: int
    confidence: float = 0.95
    pairs: list[PairOut]
    missing: list[str]
    unfinished: list[str] = []  # runs of either job that did not succeed (failed, cancelled, not done)

    @property
    def complete(self) -> bool:
        return bool(self.pairs) and not self.missing and not self.unfinished

    def not_compared(self) -> list[str]:
        """What the comparison left out, in words (for the gate's message)."""
        out = [*self.missing, *self.unfinished]
        if not self.pairs:
            out.append("no phone and setting was measured by both jobs")
        return out


def _median_ci(r: Result) -> tuple[float, float | None, float | None]:
    """The median and its interval; no interval (None) is kept as such, never zero-width."""
    return r.median_us or r.avg_us, r.ci95_low_us, r.ci95_high_us


def compare_jobs(db: Session, principal: Principal, a: int, b: int) -> CompareOut:
    job_a, job_b = get_job(db, principal, a), get_job(db, principal, b)

    def by_key(job_id: int) -> dict[tuple[int, str, int], Result]:
        rows = db.scalars(select(Result).where(Result.job_id == job_id))
        return {(r.device_id, r.delegate, r.threads): r for r in rows}

    ra, rb = by_key(job_a.id), by_key(job_b.id)
    devices = {d.id: d for d in db.scalars(select(Device).where(Device.id.in_({k[0] for k in ra | rb})))}
    pairs, missing = [], []
    names = unique_phone_labels((d.id, d.model, d.serial, False) for d in devices.values())
    for key in sorted(set(ra) | set(rb)):
        dev = devices.get(key[0])
        label = f"{names.get(key[0], key[0])} {key[1]} x{key[2]}"
        if key not in ra or key not in rb:
            missing.append(f"{label}: only in job {a if key in ra else b}")
            continue
        am, al, ah = _median_ci(ra[key])
        bm, bl, bh = _median_ci(rb[key])
        c = compare(am, al, ah, bm, bl, bh)
        pairs.append(
            PairOut(
                device_id=key[0],
                device=names.get(key[0]),
                soc=dev.soc_name if dev else None,
                delegate=key[1],
                threads=key[2],
                a_median_us=am,
                b_median_us=bm,
                ratio=c.ratio,
                ratio_low=c.ratio_low,
                ratio_high=c.ratio_high,
                verdict=c.verdict,
                unstable=ra[key].unstable or rb[key].unstable,
                reason=c.reason,
                a_ci_half_pct=ra[key].ci_half_pct,
                b_ci_half_pct=rb[key].ci_half_pct,
                detectable_pct=_detectable(ra[key], rb[key]),
            )
        )
    unfinished = []
    for job in (job_a, job_b):
        for run in job.runs:
            if run.state != RunState.succeeded:
                dev = devices.get(run.device_id) or db.get(Device, run.device_id)
                label = f"{dev.model if dev else run.device_id} {run.delegate} x{run.threads}"
                unfinished.append(f"{label}: run {run.id} of job {job.id} is {run.state}")
    return CompareOut(a=a, b=b, pairs=pairs, missing=missing, unfinished=unfinished)


def _detectable(a: Result, b: Result) -> float | None:
    """Smallest slowdown this pair detects (80 % power): from each side's own figure, in quadrature."""
    if a.detectable_pct is None or b.detectable_pct is None:
        return None
    la, lb = math.log1p(a.detectable_pct / 100), math.log1p(b.detectable_pct / 100)
    return (math.exp(math.sqrt((la * la + lb * lb) / 2)) - 1) * 100


def regressions(result: CompareOut, tolerance: float) -> list[PairOut]:
    """Pairs where b is slower beyond noise and by more than `tolerance` (0.05 = 5%)."""
    return [p for p in result.pairs if p.verdict == "slower" and p.ratio > 1 + tolerance]
