"""Placeholder: replaced below."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from device_agent.virtual.device import VirtualDevice
    from device_agent.virtual.shell import IO

STUB_MAGIC = b"#!/system/bin/phonefarm-benchmark_model"


def stub_binary(version: str = "2.17.0") -> bytes:
    return STUB_MAGIC + f" {version}\n".encode()


async def run(device: VirtualDevice, argv: list[str], io: IO, *, cwd: str = "/") -> int:
    await io.print("STARTING!\n")
    return 0
