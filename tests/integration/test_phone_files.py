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


def _big_upload(tmp_path: Path, fill: int) -> install.Upload:
    data = bytes([fill]) * 4096
    local = tmp_path / f"big-{fill}.tflite"
    local.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    return install.Upload(local, install.model_path("big"), sha)


def test_a_big_file_verified_once_is_checked_by_stat_and_a_resized_one_is_pushed_again(
    adb_server: AdbServer, fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(install, "CACHE_FROM_BYTES", 1024)  # the fixture stands for a 100 MB model
    phone = fleet.add("sdm845")
    adb_server.connect(phone.address)
    device = adb_server.client.device(phone.address)
    upload = _big_upload(tmp_path, 1)
    assert install.ensure(device, [upload]) == [upload.remote]
    assert (str(device.serial), upload.remote) in install._VERIFIED
    assert install.ensure(device, [upload]) == []
    device.sync.push(b"shorter", upload.remote)  # replaced behind the farm's back
    assert install.ensure(device, [upload]) == [upload.remote]
    assert run(device, f"sha256sum {upload.remote}").output.split()[0] == upload.sha256


def test_a_big_file_is_hashed_again_once_its_verification_is_old(
    adb_server: AdbServer, fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(install, "CACHE_FROM_BYTES", 1024)
    monkeypatch.setattr(install, "REHASH_S", 0.0)  # every check is past the re-hash period
    phone = fleet.add("msm8953")
    adb_server.connect(phone.address)
    device = adb_server.client.device(phone.address)
    upload = _big_upload(tmp_path, 2)
    assert install.ensure(device, [upload]) == [upload.remote]
    device.sync.push(bytes(4096), upload.remote)  # same size, other bytes
    assert install.ensure(device, [upload]) == [upload.remote]
