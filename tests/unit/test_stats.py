"""Trial statistics and noise-aware comparison, checked against known distributions."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from contracts.stats import Trial, compare, median_ci, percentile, summarize


def _coverage(k: int, sigma: float, tries: int = 2000, seed: int = 7) -> float:
    rng = random.Random(seed)
    true_median = 1000.0
    hits = 0
    for _ in range(tries):
        trials = [Trial(true_median * math.exp(rng.gauss(0, sigma)), 50, 0.1) for _ in range(k)]
        ci = median_ci(trials)
        assert ci.low_us is not None and ci.high_us is not None
        hits += ci.low_us <= true_median <= ci.high_us
    return hits / tries


@pytest.mark.parametrize("k", [2, 3, 5, 10])
def test_the_interval_covers_a_lognormal_median_95_percent_of_the_time(k: int) -> None:
    assert 0.93 <= _coverage(k, 0.02) <= 0.975


def test_two_trials_give_a_bounded_positive_interval() -> None:
    s = summarize([Trial(1000.0, 50, 5.0), Trial(1010.0, 50, 5.0)])
    assert s.ci95_low_us is not None and s.ci95_high_us is not None
    assert 0 < s.ci95_low_us < 1000.0 and 1010.0 < s.ci95_high_us < 1200.0
    assert s.ci_refused is None


def test_identical_trials_get_the_within_trial_floor_not_a_zero_width_interval() -> None:
    s = summarize([Trial(1000.0, 50, 10.0, 980, 1030)] * 3)
    assert s.median_us == 1000.0
    assert s.std_us == pytest.approx(10.0)
    assert s.cv == pytest.approx(0.01)
    assert s.ci95_low_us is not None and s.ci95_high_us is not None
    assert s.ci95_low_us < 1000.0 < s.ci95_high_us
    # within-trial standard error of one centre is 10/sqrt(50) = 1.41 us; t(2) = 4.303 over sqrt(3)
    assert s.ci95_high_us - 1000.0 == pytest.approx(4.303 * 1.44 / math.sqrt(3), rel=0.05)
    assert "floored" in s.method
    assert not s.unstable


def test_identical_trials_with_no_spread_still_have_the_timer_resolution() -> None:
    ci = median_ci([Trial(500.0, 10, 0.0)] * 2)
    assert ci.low_us is not None and ci.high_us is not None and ci.low_us < 500.0 < ci.high_us


def test_one_trial_refuses_an_interval_and_says_why() -> None:
    s = summarize([Trial(2000.0, 100, 100.0)])
    assert s.ci95_low_us is None and s.ci95_high_us is None and s.ci_half_pct is None
    assert s.ci_refused is not None and "one trial" in s.ci_refused


def test_trial_p90_is_a_percentile_of_the_trial_values() -> None:
    values = [100.0, 110.0, 105.0, 95.0, 130.0]
    s = summarize([Trial(v, 10, 1.0) for v in values])
    assert s.trial_p90_us == pytest.approx(float(np.percentile(values, 90)))
    assert s.trial_p90_us <= max(values)  # never extrapolated from a fit
    assert "trial value" in s.method


def test_percentile_matches_numpy_on_a_known_sample() -> None:
    xs = list(np.random.default_rng(3).exponential(10.0, 101))
    for q in (0, 5, 50, 90, 99, 100):
        assert percentile(xs, q) == pytest.approx(float(np.percentile(xs, q)))


def test_the_tool_p95_is_passed_through_only_when_every_trial_has_one() -> None:
    assert summarize([Trial(100, 10, 1, p95_us=120), Trial(101, 10, 1, p95_us=124)]).tool_p95_us == 122
    assert summarize([Trial(100, 10, 1, p95_us=120), Trial(101, 10, 1)]).tool_p95_us is None


def test_scattered_trials_are_flagged_with_reasons() -> None:
    s = summarize([Trial(1000.0, 50, 10.0), Trial(1300.0, 50, 10.0), Trial(900.0, 50, 10.0)])
    assert s.unstable
    assert any("disagree" in r for r in s.reasons)
    assert any("coefficient of variation" in r for r in s.reasons)
    assert s.ci95_low_us is not None and s.ci95_high_us is not None
    assert s.ci95_low_us < 1000.0 < s.ci95_high_us


def test_precision_improves_with_more_trials_of_the_same_noise() -> None:
    rng = random.Random(1)
    draws = [Trial(1000 * math.exp(rng.gauss(0, 0.01)), 50, 1.0) for _ in range(12)]
    few, many = median_ci(draws[:3]), median_ci(draws)
    assert few.half_pct is not None and many.half_pct is not None and many.half_pct < few.half_pct
    assert many.detectable_pct is not None and many.detectable_pct > many.half_pct


def test_no_trials_is_an_error() -> None:
    with pytest.raises(ValueError):
        summarize([])


def test_compare_verdicts() -> None:
    same = compare(100, 98, 102, 101, 99, 103)
    assert same.verdict == "indistinguishable"
    slower = compare(100, 98, 102, 130, 127, 133)
    assert slower.verdict == "slower" and slower.ratio == pytest.approx(1.3)
    assert slower.ratio_low is not None and slower.ratio_low > 1.2
    faster = compare(100, 98, 102, 70, 69, 71)
    assert faster.verdict == "faster" and faster.ratio_high is not None and faster.ratio_high < 1


def test_compare_without_an_interval_gives_no_verdict() -> None:
    c = compare(100, None, None, 130, 127, 133)
    assert c.verdict == "unknown" and c.reason and c.ratio_low is None
