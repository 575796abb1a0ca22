"""What an agent reports to the server about its phones: the one wire format both sides import.

Why every field is bounded here: phone properties are hostile input. `ro.build.version.sdk=
99999999999999999999` once raised OverflowError (500), a 65-character manufacturer or
`sdk=3e9` a 500 on Postgres, and the agent then crash-looped and never registered the other
phones. Text is cut to its column's length (the raw value kept, capped, rather than the
phone refused) and numbers outside a plausible range become unknown (None).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from contracts.vocabulary import DeviceState
from contracts.wire import RequestModel

# column lengths in server/devices/models.py
TEXT_LIMITS = {
    "manufacturer": 64,
    "brand": 64,
    "model": 128,
    "product": 128,
    "soc_vendor": 64,
    "soc_name": 128,
    "soc_codename": 64,
    "platform": 64,
    "abi": 32,
    "android_release": 16,
    "gpu": 256,
    "fingerprint": 256,
    "timing_mode": 16,
}
INT_RANGES = {"sdk": (1, 1000), "ram_mb": (1, 1 << 24), "cpu_cores": (1, 1024)}
MAX_FREQS = 64
MAX_FREQ_KHZ = 100_000_000


def _plausible(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()[:12]
        if not value.isascii() or not value.isdecimal():
            return None
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and low <= value <= high else None


class DeviceReport(RequestModel):
    """What an agent knows about one phone it sees."""

    serial: str = Field(max_length=128, description="adb serial on this host: how the phone is reached now")
    hardware_serial: str | None = Field(
        None,
        max_length=128,
        description="ro.serialno (else ro.boot.serialno): with manufacturer/model, who the phone is",
    )
    state: DeviceState = DeviceState.online
    manufacturer: str | None = Field(None, max_length=64)
    brand: str | None = Field(None, max_length=64)
    model: str | None = Field(None, max_length=128)
    product: str | None = Field(None, max_length=128)
    soc_vendor: str | None = Field(None, max_length=64)
    soc_name: str | None = Field(None, max_length=128)
    soc_codename: str | None = Field(None, max_length=64)
    soc_known: bool = False
    platform: str | None = Field(None, max_length=64)
    abi: str | None = Field(None, max_length=32)
    abilist: list[Annotated[str, Field(max_length=32)]] = Field(default_factory=list, max_length=8)
    android_release: str | None = Field(None, max_length=16)
    sdk: int | None = Field(None, ge=1, le=1000)
    ram_mb: int | None = Field(None, ge=1, le=1 << 24)
    cpu_cores: int | None = Field(None, ge=1, le=1024)
    cpu_max_freqs_khz: list[int] = Field(default_factory=list, max_length=MAX_FREQS)
    gpu: str | None = Field(None, max_length=256)
    fingerprint: str | None = Field(None, max_length=256)
    is_virtual: bool = False
    timing_mode: str | None = Field(None, max_length=16)

    @model_validator(mode="before")
    @classmethod
    def _bound(cls, data: Any) -> Any:
        """Cut text to its column and drop implausible numbers, instead of refusing the phone."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for key, limit in TEXT_LIMITS.items():
            value = data.get(key)
            if isinstance(value, str):
                data[key] = value.replace("\x00", "")[:limit]
        for key, (low, high) in INT_RANGES.items():
            if key in data and data[key] is not None:
                data[key] = _plausible(data[key], low, high)
        abis = data.get("abilist")
        if isinstance(abis, list):
            data["abilist"] = [a[:32] for a in abis[:8] if isinstance(a, str)]
        freqs = data.get("cpu_max_freqs_khz")
        if isinstance(freqs, list):
            data["cpu_max_freqs_khz"] = [
                f for f in (_plausible(v, 0, MAX_FREQ_KHZ) for v in freqs[:MAX_FREQS]) if f is not None
            ]
        return data


class Heartbeat(RequestModel):
    """The complete list of adb serials the host's adb server sees now, with their states."""

    devices: dict[str, DeviceState] = Field(default_factory=dict, max_length=4096)


class HeartbeatReply(RequestModel):
    host: str
    unknown: list[str] = Field(
        default_factory=list, description="adb serials the farm has no phone for: report them (PUT)"
    )
