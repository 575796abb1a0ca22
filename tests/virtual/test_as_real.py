"""A virtual phone `as_real` behaves like a phone the farm did not build: it runs the ELF built
for its ABI as benchmark_model and fails the others the way Android does."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from contracts.elf import fake_elf
from device_agent.virtual.benchmark_tool import stub_binary
from device_agent.virtual.device import VirtualDevice
from tests.integration.conftest import FIXTURE_MODEL


def sh(device: VirtualDevice, command: str) -> tuple[int, str, str]:
    out: list[bytes] = []
    err: list[bytes] = []

    async def w_out(b: bytes) -> None:
        out.append(b)

    async def w_err(b: bytes) -> None:
        err.append(b)

    rc = asyncio.run(device.shell(command, w_out, w_err))
    return rc, b"".join(out).decode(), b"".join(err).decode()


def put(dev: VirtualDevice, name: str, data: bytes) -> str:
    path = dev.root / "data/local/tmp" / name
    path.write_bytes(data)
    path.chmod(0o755)
    return f"/data/local/tmp/{name}"


@pytest.fixture
def go(tmp_path: Path) -> VirtualDevice:
    return VirtualDevice.from_profile("msm8917", root=tmp_path / "go", as_real=True)


@pytest.fixture
def pixel(tmp_path: Path) -> VirtualDevice:
    return VirtualDevice.from_profile("sdm845", root=tmp_path / "p", as_real=True)


def test_an_as_real_phone_has_no_phonefarm_properties(go: VirtualDevice, tmp_path: Path) -> None:
    assert not [k for k in go.props() if k.startswith("ro.phonefarm")]
    assert "phonefarm" not in sh(go, "getprop")[1]
    plain = VirtualDevice.from_profile("msm8917", root=tmp_path / "plain")
    assert plain.props()["ro.phonefarm.virtual"] == "1"


def test_the_stub_is_refused_like_a_script_with_a_missing_interpreter(go: VirtualDevice) -> None:
    path = put(go, "stub", stub_binary())
    rc, _, err = sh(go, f"{path} --graph=/x.tflite")
    assert rc == 127 and "No such file or directory" in err


def test_a_64_bit_binary_on_a_32_bit_phone_fails_as_android_does(go: VirtualDevice) -> None:
    path = put(go, "bm64", fake_elf("arm64-v8a"))
    assert sh(go, f"{path} --help=true") == (
        126,
        "",
        f"/system/bin/sh: {path}: not executable: 64-bit ELF file\n",
    )
    x86 = put(go, "bm86", fake_elf("x86"))
    assert sh(go, x86)[0] == 126


def test_a_32_bit_binary_runs_on_a_64_bit_phone(pixel: VirtualDevice) -> None:
    path = put(pixel, "bm32", fake_elf("armeabi-v7a"))
    rc, _, err = sh(pixel, f"{path} --help=true")
    assert rc == 1 and "--use_xnnpack=" in err  # the current (2.16) flag table


def test_the_pinned_old_version_lists_and_accepts_only_its_flags(go: VirtualDevice) -> None:
    binary = put(go, "bm", fake_elf("armeabi-v7a"))
    rc, _, err = sh(go, f"{binary} --help=true")
    assert rc == 1 and "--num_runs=" in err and "--use_xnnpack=" not in err
    model = go.root / "data/local/tmp/m.tflite"
    model.write_bytes(FIXTURE_MODEL.read_bytes())
    rc, _, err = sh(go, f"{binary} --graph=/data/local/tmp/m.tflite --num_runs=2 --use_xnnpack=false")
    assert rc == 1 and "Unconsumed cmdline flags: --use_xnnpack=false" in err
    rc, _, err = sh(
        go, f"{binary} --graph=/data/local/tmp/m.tflite --num_runs=2 --min_secs=0 --warmup_min_secs=0"
    )
    assert rc == 0, err
    assert "1.15.0" in err and "avg=" in err
