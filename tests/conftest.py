"""Test tiers, and no test reads the user's farm config.

`make test-fast` runs the `fast` tier: every test not marked integration, browser or zoo (unit
tests, the virtual phone, and the API/service tests against one rolled-back Postgres database).
`make test` runs everything, spread over the CPUs with pytest-xdist a file at a time: every test
makes its own databases (uuid names), Redis key prefix, adb server and ports, so files never
collide.

`farm up` records where the farm is in ~/.config/phonefarm/config.toml and every farm process
reads it; a test reading a developer's (or a parallel session's) file would talk to the wrong farm.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.stack import FarmStack

os.environ["FARM_CONFIG"] = str(Path(tempfile.mkdtemp(prefix="farm-config-")) / "config.toml")

pytest_plugins = ["tests.database"]  # migrated_database, db_connection, db for every directory

SLOW_TIERS = ("integration", "browser", "zoo")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not any(item.get_closest_marker(name) for name in SLOW_TIERS):
            item.add_marker(pytest.mark.fast)


@pytest.fixture
def prod(tmp_path: Path) -> Iterator[FarmStack]:
    """A farm in production mode (Postgres, Redis, processes of its own), closed after the test;
    a file that needs other settings overrides it, asking for this one."""
    from tests.stack import FarmStack

    s = FarmStack(tmp_path, mode="production")
    try:
        yield s
    finally:
        s.close()
