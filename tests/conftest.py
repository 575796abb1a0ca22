"""Test tiers. `make test-fast` runs the `fast` tier: every test not marked integration, browser
or zoo (unit tests, the virtual phone, and the API against one rolled-back Postgres database).
`make test` runs everything, spread over the CPUs with pytest-xdist a file at a time: every test
makes its own databases (uuid names), Redis key prefix, adb server and ports, so files never
collide."""

from __future__ import annotations

import pytest

SLOW_TIERS = ("integration", "browser", "zoo")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not any(item.get_closest_marker(name) for name in SLOW_TIERS):
            item.add_marker(pytest.mark.fast)
