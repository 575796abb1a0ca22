"""Android's adb device tests (AOSP test_device.py) against a virtual phone, from pytest.

The whole suite takes about three minutes on a loaded CI machine, so pytest runs a fast
subset (shell, forwarding, one compression, properties, packet sizes); `make conformance`
(.ci/run) runs all of it. Every test not listed in expected.py must pass.
"""

from __future__ import annotations

import pytest

from tests.conformance import runner
from tests.conformance.expected import EXPECTED_FAILURES

pytestmark = [pytest.mark.conformance, pytest.mark.integration]

FAST = (
    "ShellTest.",
    "ArgumentEscapingTest.",
    "ForwardReverseTest.",
    "SystemPropertiesTest.",
    "DeviceOfflineTest.",
    "AbbTest.",
    "FramebufferTest.",
    "FileOperationsTestZstd.test_p",
)


def test_the_fast_subset_of_androids_device_tests_passes_on_a_virtual_phone() -> None:
    with runner.bench() as b:
        tests = [t for t in runner.list_tests(b.env) if t.startswith(FAST)]
        assert len(tests) > 30
        outcomes = [runner.run_one(b, t, timeout=90) for t in tests]
    failed = [
        f"{o.test}: {o.status}: {o.detail}"
        for o in outcomes
        if o.status not in ("pass", "skip", "not-run") and o.test not in EXPECTED_FAILURES
    ]
    assert not failed, "\n".join(failed)


def test_every_expected_failure_names_a_test_of_the_suite_and_a_reason() -> None:
    from tests.conformance.expected import NOT_RUN

    with runner.bench() as b:
        names = set(runner.list_tests(b.env))
    for name, reason in {**EXPECTED_FAILURES, **NOT_RUN}.items():
        assert name in names, name
        assert len(reason) > 20, name
