"""A shell loop or a push that would fill the disk fails with "No space left on device" on the
virtual phone, as on a full phone, instead of filling the disk of the host that runs it."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest

from device_agent.virtual.device import VirtualDevice
from device_agent.virtual.fleet import PhoneFleet, VirtualPhone
from device_agent.virtual.profile import PROFILE_DIR, ProfileError, load_profile, parse_profile
from tests.stack import AdbServer

TMP = "/data/local/tmp"
BUDGET = 4 << 20  # bytes the test lets the phone's sandbox grow by


def adb_run(adb: AdbServer, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([adb.adb, "-P", str(adb.port), *args], capture_output=True, env=adb.env, timeout=60)


def small_phone(fleet: PhoneFleet, adb: AdbServer) -> VirtualPhone:
    phone = fleet.add("sdm845")
    quota = phone.device.quota
    quota.limit = quota.recount() + BUDGET
    adb.connect(phone.address)
    return phone


def test_a_doubling_loop_in_the_phone_shell_stops_at_the_storage_budget_with_enospc(
    adb_server: AdbServer, fleet: PhoneFleet
) -> None:
    phone = small_phone(fleet, adb_server)
    loop = (
        f"cd {TMP}; echo 0123456789abcdef > f; i=0; "
        "while [ $i -lt 64 ]; do cat f f > g || break; mv g f; i=$((i+1)); done; echo rounds=$i"
    )
    r = adb_run(adb_server, "-s", phone.address, "shell", loop)
    text = (r.stdout + r.stderr).decode()
    assert "No space left on device" in text
    rounds = int(text.rsplit("rounds=", 1)[1].split()[0])
    assert 10 < rounds < 64  # it grew, then the budget stopped it
    assert phone.device.quota.recount() <= phone.device.quota.limit
    r = adb_run(
        adb_server, "-s", phone.address, "shell", f"dd if=/dev/zero of={TMP}/big bs=1048576 count=10000"
    )
    assert r.returncode != 0 and b"No space left on device" in r.stdout + r.stderr
    assert phone.device.quota.recount() <= phone.device.quota.limit
    r = adb_run(
        adb_server, "-s", phone.address, "shell", f"rm {TMP}/f {TMP}/big; echo alive > {TMP}/ok; cat {TMP}/ok"
    )
    assert r.returncode == 0 and r.stdout.strip() == b"alive"  # the phone answers, and space came back


def test_a_push_bigger_than_the_storage_budget_fails_like_a_full_phone_and_leaves_nothing(
    adb_server: AdbServer, fleet: PhoneFleet, tmp_path: Path
) -> None:
    phone = small_phone(fleet, adb_server)
    big = tmp_path / "big.bin"
    big.write_bytes(b"\x5a" * (BUDGET + (1 << 20)))
    r = adb_run(adb_server, "-s", phone.address, "push", str(big), f"{TMP}/big.bin")
    assert r.returncode != 0
    assert b"No space left on device" in r.stdout + r.stderr
    assert not (phone.device.root / TMP.lstrip("/") / "big.bin").exists()  # no partial file kept
    assert phone.device.quota.recount() <= phone.device.quota.limit
    small = tmp_path / "small.bin"
    small.write_bytes(b"ok" * 1000)
    assert adb_run(adb_server, "-s", phone.address, "push", str(small), f"{TMP}/small.bin").returncode == 0


def test_the_storage_budget_comes_from_the_profile_and_defaults_to_one_gib(tmp_path: Path) -> None:
    assert load_profile("sdm845").quota_mb == 1024
    data = tomllib.loads((PROFILE_DIR / "sdm845.toml").read_text())
    small = parse_profile({**data, "quota_mb": 3}, "small", "test")
    dev = VirtualDevice(small, root=tmp_path / "phone")
    assert dev.quota.limit == 3 << 20
    with pytest.raises(ProfileError, match="quota_mb"):
        parse_profile({**data, "quota_mb": 0}, "bad", "test")
