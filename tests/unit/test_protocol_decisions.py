"""Adaptive precision and sustained-run figures: the runner's pure decisions."""

from __future__ import annotations

import math
import random

import pytest

from contracts.jobs import BenchmarkSpec
from contracts.stats import Trial
from worker.protocol import Sample, next_trial, precision_record, sustained_report, sustained_spec


def _trials(n: int, sigma: float, seed: int = 5) -> list[Trial]:
    rng = random.Random(seed)
    return [Trial(1000 * math.exp(rng.gauss(0, sigma)), 50, 2.0) for _ in range(n)]


def test_without_a_target_the_job_runs_exactly_its_trials() -> None:
    spec = {"trials": 3}
    assert next_trial(_trials(2, 0.01), spec).more
    assert not next_trial(_trials(3, 0.01), spec).more


def test_trials_continue_until_the_interval_meets_the_target() -> None:
    spec = {"trials": 2, "target_ci_pct": 0.5, "max_trials": 30}
    trials: list[Trial] = []
    pool = _trials(30, 0.01)
    while next_trial(trials, spec).more:
        trials.append(pool[len(trials)])
    decision = next_trial(trials, spec)
    assert "target reached" in decision.reason and 3 <= len(trials) < 30
    record = precision_record(trials, spec, decision)
    assert record["ci_half_pct"] <= 0.5 and record["detectable_regression_pct"] > record["ci_half_pct"]


def test_max_trials_stops_a_noisy_phone_and_says_so() -> None:
    spec = {"trials": 2, "target_ci_pct": 0.1, "max_trials": 5}
    assert next_trial(_trials(4, 0.05), spec).more
    decision = next_trial(_trials(5, 0.05), spec)
    assert not decision.more and "max_trials 5" in decision.reason


def test_sustained_report_finds_cold_sustained_and_time_to_plus_ten_percent() -> None:
    samples = [Sample(t, 1000 * (1.0 if t < 30 else 1.3), 40 + t / 2) for t in range(0, 60, 2)]
    r = sustained_report(samples)
    assert r["cold_us"] == 1000 and r["sustained_us"] == pytest.approx(1300)
    assert r["ratio"] == pytest.approx(1.3) and r["time_to_plus10_s"] == 30
    assert sustained_report([])["ratio"] is None


def test_a_sustained_segment_has_no_warm_up() -> None:
    s = sustained_spec(BenchmarkSpec(trials=3, sustained_s=60, sustained_segment_s=1.5))
    assert s.min_secs == 1.5 and s.warmup_runs == 0 and s.num_runs == 1
