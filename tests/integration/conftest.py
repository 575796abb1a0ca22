"""Fixtures that start real farm components (see tests/stack.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import AdbServer, FarmStack

FIXTURE_MODEL = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_segmenter.tflite"
SEED_PHONES = ["msm8953", "sdm845", "msm8937", "exynos7420"]


@pytest.fixture
def adb_server(tmp_path: Path) -> Iterator[AdbServer]:
    server = AdbServer(tmp_path / "adbhome")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fleet() -> Iterator[object]:
    from device_agent.virtual.fleet import PhoneFleet

    f = PhoneFleet()
    yield f
    f.close()


@pytest.fixture(params=["production", "embedded"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FarmStack]:
    s = FarmStack(tmp_path, mode=request.param)
    try:
        yield s
    finally:
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            print(s.logs())
        s.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, "rep_" + rep.when, rep)
