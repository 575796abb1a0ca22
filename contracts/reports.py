"""What an agent reports to the server about its phones: the one wire format both sides import."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from contracts.vocabulary import DeviceState
from contracts.wire import RequestModel


class DeviceReport(RequestModel):
    """What an agent knows about one phone it sees."""

    serial: str = Field(max_length=128)
    state: DeviceState = DeviceState.online
    manufacturer: str | None = None
    brand: str | None = None
    model: str | None = None
    product: str | None = None
    soc_vendor: str | None = None
    soc_name: str | None = None
    soc_codename: str | None = None
    soc_known: bool = False
    platform: str | None = None
    abi: str | None = None
    abilist: list[Annotated[str, Field(max_length=32)]] = Field(default_factory=list, max_length=8)
    android_release: str | None = None
    sdk: int | None = None
    ram_mb: int | None = None
    cpu_cores: int | None = None
    cpu_max_freqs_khz: list[int] = Field(default_factory=list)
    gpu: str | None = None
    fingerprint: str | None = None
    is_virtual: bool = False
    timing_mode: str | None = None


class Heartbeat(RequestModel):
    """The complete list of serials the host's adb server sees now, with their states."""

    devices: dict[str, DeviceState] = Field(default_factory=dict)
