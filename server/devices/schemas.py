"""Wire formats for devices and hosts (API and agent)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from contracts.vocabulary import DeviceState
from contracts.wire import RequestModel


class HostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    queue: str
    last_heartbeat: datetime | None


class DeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    serial: str
    host: str = Field(validation_alias="host_name")
    state: DeviceState = Field(validation_alias="effective_state")
    connection: str = Field(
        validation_alias="state", description="online | offline | unauthorized as adb sees it"
    )
    hint: str | None = Field(None, validation_alias="state_hint", description="What the operator should do")
    manufacturer: str | None
    brand: str | None
    model: str | None
    soc_vendor: str | None
    soc_name: str | None
    soc_codename: str | None
    soc_known: bool
    platform: str | None
    abi: str | None
    abilist: list[str] = []
    android_release: str | None
    sdk: int | None
    ram_mb: int | None
    cpu_cores: int | None
    cpu_max_freqs_khz: list[int]
    gpu: str | None
    fingerprint: str | None
    is_virtual: bool
    timing_mode: str | None
    tags: list[str]
    disabled: bool
    quarantined: bool
    consecutive_failures: int
    current_run_id: int | None = Field(None, validation_alias="lease_run_id")
    last_seen: datetime | None


class TagsIn(RequestModel):
    tags: list[str] = Field(min_length=1, max_length=32)
