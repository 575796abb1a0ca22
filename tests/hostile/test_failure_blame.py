"""Whose failure a run is, read from what the worker recorded (contracts/failures.py)."""

from __future__ import annotations

from contracts.failures import Blame, blame_for, kind_of, max_trial_seconds, min_trial_seconds


def test_failures_the_model_or_the_spec_causes_are_never_the_phones() -> None:
    assert kind_of("allocation: Failed to allocate tensors! (exit 1)") == "allocation"
    assert blame_for(kind_of("model_invalid: not a valid Flatbuffer")) == Blame.model
    assert blame_for(kind_of("unsupported_op: Didn't find op")) == Blame.model
    assert blame_for(kind_of("delegate: Failed to apply GPU delegate")) == Blame.spec
    assert blame_for(kind_of("internal error: KeyError('x')")) == Blame.host_misconfigured
    assert blame_for(kind_of("host_misconfigured: no binary for armeabi-v7a")) == Blame.host_misconfigured
    assert blame_for(kind_of("crash: Segmentation fault (exit 139)")) == Blame.phone
    assert blame_for(kind_of("benchmark timed out: command did not finish")) == Blame.phone
    assert blame_for("timeout", spec_can_time_out=True) == Blame.spec
    assert kind_of("something new: x") == "unknown" and kind_of(None) == "unknown"


def test_a_specs_least_and_most_time_per_trial() -> None:
    spec: dict[str, object] = {"min_secs": 700.0, "max_secs": 3600.0, "warmup_min_secs": 0.5}
    assert min_trial_seconds(spec) == 700.5
    assert min_trial_seconds({"num_runs": 10000, "run_delay": 10.0, "warmup_runs": 0}) == 100_000.5
    assert min_trial_seconds({"min_secs": 700.0, "max_secs": 5.0, "warmup_min_secs": 0}) == 5.0
    assert max_trial_seconds({"max_secs": 150.0, "warmup_min_secs": 0.5}) == 150.5
