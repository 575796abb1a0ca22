"""What is on a phone is checked by its sha256, not its size: a same-size different file is replaced."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from device_agent.phone import install
from device_agent.phone.shell import run
from tests.integration.conftest import FIXTURE_MODEL
from tests.stack import AdbServer

pytestmark = pytest.mark.integration


def test_a_same_size_different_model_on_the_phone_is_pushed_again(adb_server: AdbServer, fleet) -> None:
    phone = fleet.add("sdm845")
    adb_server.connect(phone.address)
    device = adb_server.client.device(phone.address)
    data = FIXTURE_MODEL.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    upload = install.Upload(FIXTURE_MODEL, install.model_path(sha), sha)
    assert install.ensure(device, [upload]) == [upload.remote]
    assert install.ensure(device, [upload]) == []  # cached: nothing pushed

    forged = bytes(len(data))  # same size, other bytes
    device.sync.push(forged, upload.remote)
    assert install.remote_sizes(device, [upload.remote]) == {upload.remote: len(data)}
    assert install.ensure(device, [upload]) == [upload.remote]
    digest = run(device, f"sha256sum {upload.remote}").output.split()[0]
    assert digest == sha


def test_files_are_hashed_on_the_phone_in_one_round_trip(
    adb_server: AdbServer, fleet, tmp_path: Path
) -> None:
    phone = fleet.add("msm8953")
    adb_server.connect(phone.address)
    device = adb_server.client.device(phone.address)
    device.sync.push(b"abc", "/data/local/tmp/a")
    hashes = install.remote_hashes(device, ["/data/local/tmp/a", "/data/local/tmp/missing"])
    assert hashes == {"/data/local/tmp/a": hashlib.sha256(b"abc").hexdigest()}
