"""Binaries: the ABI comes from the ELF header, the phone's abilist picks the build, --help says what it takes."""

from __future__ import annotations

import pytest

from contracts.binaries import BinaryInfo, choose_binary, missing_message, parse_help, split_abilist
from contracts.elf import ElfError, fake_elf, read_elf
from device_agent.phone.benchmark import build_command, missing_delegate_flag, unapplied
from device_agent.virtual.benchmark_tool import usage


@pytest.mark.parametrize(
    ("abi", "bits"), [("arm64-v8a", 64), ("armeabi-v7a", 32), ("x86_64", 64), ("x86", 32)]
)
def test_the_abi_is_read_from_the_elf_header(abi: str, bits: int) -> None:
    info = read_elf(fake_elf(abi))
    assert (info.abi.value, info.bits) == (abi, bits)


@pytest.mark.parametrize(
    ("blob", "words"),
    [
        (b"#!/system/bin/sh\necho hi\n", "not an ELF file"),
        (b"PK\x03\x04" + b"\0" * 60, "not an ELF file"),
        (b"\x7fELF", "not an ELF file"),
        (fake_elf("arm64-v8a")[:16] + (1).to_bytes(2, "little") + (183).to_bytes(2, "little"), "relocatable"),
        (fake_elf("arm64-v8a")[:18] + (243).to_bytes(2, "little") + b"\0" * 44, "no Android ABI"),
    ],
)
def test_files_that_are_not_android_executables_are_refused_with_a_reason(blob: bytes, words: str) -> None:
    with pytest.raises(ElfError, match=words):
        read_elf(blob)


def test_the_phone_gets_its_preferred_abi_then_the_newest_build() -> None:
    arm64_old = BinaryInfo("a" * 64, "arm64-v8a", id=1)
    arm64_new = BinaryInfo("b" * 64, "arm64-v8a", id=2)
    arm32 = BinaryInfo("c" * 64, "armeabi-v7a", id=3)
    flex = BinaryInfo("d" * 64, "arm64-v8a", flex=True, id=4)
    every = [arm64_old, arm64_new, arm32, flex]
    assert choose_binary(every, ["arm64-v8a", "armeabi-v7a"], needs_flex=False) == arm64_new
    assert choose_binary(every, ["armeabi-v7a", "armeabi"], needs_flex=False) == arm32
    assert choose_binary(every, ["arm64-v8a", "armeabi-v7a"], needs_flex=True) == flex
    assert choose_binary(every, ["armeabi-v7a"], needs_flex=True) is None
    assert (
        choose_binary([arm32], ["arm64-v8a", "armeabi-v7a"], needs_flex=False) == arm32
    )  # 32-bit runs on 64
    assert choose_binary(every, ["x86_64"], needs_flex=False) is None


def test_a_missing_binary_names_the_abi_and_the_command_that_fixes_it() -> None:
    text = missing_message(["armeabi-v7a", "armeabi"], False, "9d3a41c7")
    assert "armeabi-v7a" in text and "farm binary fetch --abi armeabi-v7a" in text
    assert "--flex" in missing_message(["arm64-v8a"], True, "x")
    assert split_abilist("arm64-v8a,armeabi-v7a,") == ["arm64-v8a", "armeabi-v7a"]
    assert split_abilist("", "x86") == ["x86"]


def test_help_of_an_old_build_lists_only_its_flags() -> None:
    caps = parse_help(
        "INFO: STARTING!\nERROR: " + usage("benchmark_model", "1.15.0") + "\nERROR: Benchmarking failed."
    )
    assert "num_runs" in caps.flags and "use_gpu" in caps.flags
    assert "use_xnnpack" not in caps.flags and "report_peak_memory_footprint" not in caps.flags
    full = parse_help(usage("benchmark_model"))
    assert {"use_xnnpack", "report_peak_memory_footprint"} <= set(full.flags)
    assert parse_help("x" * 10_000_000).flags == ()  # bounded, linear


def test_only_supported_flags_are_passed_and_the_rest_is_reported() -> None:
    supported = frozenset(parse_help(usage("b", "1.15.0")).flags)
    spec = {"num_runs": 5, "report_peak_memory_footprint": True}
    cmd = build_command("/b", "/m.tflite", "cpu", 2, spec, supported)
    assert "--num_runs=5" in cmd and "peak_memory" not in cmd and "xnnpack" not in cmd
    assert unapplied("cpu", 2, spec, supported) == ["use_xnnpack=false", "report_peak_memory_footprint=true"]
    assert unapplied("cpu", 2, spec, None) == []
    assert missing_delegate_flag("xnnpack", supported) == "use_xnnpack"
    assert missing_delegate_flag("gpu", supported) is None
