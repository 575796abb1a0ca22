"""Trial statistics and noise-aware comparison."""

from __future__ import annotations

import math
import statistics

import pytest

from contracts.stats import Trial, compare, summarize


def test_identical_trials_are_stable_and_tight() -> None:
    s = summarize([Trial(1000.0, 50, 10.0, 980, 1030)] * 3)
    assert s.median_us == 1000.0
    assert s.mean_us == pytest.approx(1000.0)
    assert s.std_us == pytest.approx(10.0)
    assert s.cv == pytest.approx(0.01)
    assert s.ci95_low_us == s.ci95_high_us == 1000.0  # trials agree exactly
    assert not s.unstable
    assert s.min_us == 980 and s.max_us == 1030


def test_scattered_trials_are_flagged_with_reasons() -> None:
    s = summarize([Trial(1000.0, 50, 10.0), Trial(1300.0, 50, 10.0), Trial(900.0, 50, 10.0)])
    assert s.unstable
    assert any("disagree" in r for r in s.reasons)
    assert any("coefficient of variation" in r for r in s.reasons)
    assert s.ci95_low_us < 1000.0 < s.ci95_high_us


def test_ci_uses_student_t_over_trial_medians() -> None:
    avgs = [100.0, 110.0, 105.0, 95.0]
    s = summarize([Trial(a, 10, 1.0) for a in avgs])
    half = 3.182 * statistics.stdev(avgs) / math.sqrt(4)
    assert s.ci95_high_us - s.median_us == pytest.approx(half)


def test_single_trial_interval_comes_from_its_spread() -> None:
    s = summarize([Trial(2000.0, 100, 100.0)])
    assert s.ci95_high_us - s.ci95_low_us == pytest.approx(2 * 1.96 * 1.2533 * 100.0 / 10.0)
    assert not s.unstable  # CV 5% is at, not above, the threshold


def test_no_trials_is_an_error() -> None:
    with pytest.raises(ValueError):
        summarize([])


def test_compare_verdicts() -> None:
    same = compare(100, 98, 102, 101, 99, 103)
    assert same.verdict == "indistinguishable"
    slower = compare(100, 98, 102, 130, 127, 133)
    assert slower.verdict == "slower" and slower.ratio == pytest.approx(1.3)
    assert slower.ratio_low > 1.2
    faster = compare(100, 98, 102, 70, 69, 71)
    assert faster.verdict == "faster" and faster.ratio_high < 1
