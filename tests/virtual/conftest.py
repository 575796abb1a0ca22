"""Fixtures for the virtual phone's transport tests: a private adb server and virtual phones.

The adb server is the real one from the adbutils wheel, on its own port and with its own
HOME (so it makes its own ~/.android/adbkey and never touches a developer's adb). Phones are
real transport servers around device_agent.virtual.device, the same phones the farm's tests use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from device_agent.virtual.fleet import PhoneFleet, VirtualPhone
from tests.stack import AdbServer


@pytest.fixture(scope="session")
def adb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdbServer]:
    server = AdbServer(tmp_path_factory.mktemp("adbhome"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


# -- phones -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fleet() -> Iterator[PhoneFleet]:
    f = PhoneFleet()
    yield f
    f.close()


PhoneFactory = Callable[..., VirtualPhone]


@pytest.fixture
def make_phone(fleet: PhoneFleet, adb: AdbServer) -> Iterator[PhoneFactory]:
    """make_phone(profile="sdm845", connect=True, auth=False, allowed_keys=()) -> VirtualPhone"""
    made: list[VirtualPhone] = []

    def make(
        profile: str = "sdm845",
        *,
        connect: bool = True,
        auth: bool = False,
        allowed_keys: tuple[bytes, ...] = (),
        **opts: Any,
    ) -> VirtualPhone:
        phone = fleet.add(profile, auth=auth, allowed_keys=allowed_keys, **opts)
        made.append(phone)
        adb.explainers[phone.address] = lambda: (
            f"{phone!r}, {len(phone.server.connections)} connection(s) open"
        )
        if connect:
            adb.connect(phone.address)
        return phone

    yield make
    for phone in made:
        adb.cmd("disconnect", phone.address)
        adb.explainers.pop(phone.address, None)
        phone.stop()


@pytest.fixture
def phone(make_phone: PhoneFactory) -> VirtualPhone:
    return make_phone()
