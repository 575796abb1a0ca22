"""Farm hosts and the phones attached to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contracts.vocabulary import DeviceState
from server.db import Base, utcnow


class FarmHost(Base):
    __tablename__ = "farm_hosts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    queue: Mapped[str] = mapped_column(String(160))
    last_heartbeat: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    devices: Mapped[list[Device]] = relationship(back_populates="host")


class Device(Base):
    __tablename__ = "devices"
    __table_args__ = (
        UniqueConstraint("serial", "manufacturer", "model", name="uq_devices_identity"),
        Index("ix_devices_soc_name", "soc_name"),
        Index("ix_devices_host_address", "host_id", "address"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # identity: the hardware serial (ro.serialno) with manufacturer/model; how it is reached changes
    serial: Mapped[str] = mapped_column(String(128))
    address: Mapped[str | None] = mapped_column(String(128), doc="adb serial on its host (USB id, HOST:PORT)")
    host_id: Mapped[int] = mapped_column(ForeignKey("farm_hosts.id", ondelete="CASCADE"))
    manufacturer: Mapped[str | None] = mapped_column(String(64))
    brand: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(128))
    product: Mapped[str | None] = mapped_column(String(128))
    soc_vendor: Mapped[str | None] = mapped_column(String(64))
    soc_name: Mapped[str | None] = mapped_column(String(128))
    soc_codename: Mapped[str | None] = mapped_column(String(64))
    soc_known: Mapped[bool] = mapped_column(default=False)
    platform: Mapped[str | None] = mapped_column(String(64))
    abi: Mapped[str | None] = mapped_column(String(32))
    abilist: Mapped[list[str]] = mapped_column(default=list)  # ro.product.cpu.abilist, preferred first
    android_release: Mapped[str | None] = mapped_column(String(16))
    sdk: Mapped[int | None]
    ram_mb: Mapped[int | None]
    cpu_cores: Mapped[int | None]
    cpu_max_freqs_khz: Mapped[list[Any]] = mapped_column(default=list)
    gpu: Mapped[str | None] = mapped_column(String(256))
    fingerprint: Mapped[str | None] = mapped_column(String(256))
    # connection state as the agent last saw it: online | offline | unauthorized
    state: Mapped[str] = mapped_column(String(16), default=DeviceState.offline)
    disabled: Mapped[bool] = mapped_column(default=False)
    quarantined: Mapped[bool] = mapped_column(default=False)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    is_virtual: Mapped[bool] = mapped_column(default=False)
    timing_mode: Mapped[str | None] = mapped_column(String(16))
    tags: Mapped[list[str]] = mapped_column(default=list)
    lease_run_id: Mapped[int | None]
    lease_expires_at: Mapped[datetime | None]
    last_seen: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    host: Mapped[FarmHost] = relationship(back_populates="devices")

    @property
    def host_name(self) -> str:
        return self.host.name

    @property
    def state_hint(self) -> str | None:
        state = self.effective_state
        if state == DeviceState.unauthorized:
            return "Accept the 'Allow USB debugging?' prompt on the phone (tick 'Always allow from this computer')."
        if state == DeviceState.offline:
            return "The phone is not reachable: check its USB cable or run 'farm attach HOST:PORT' again."
        if state == DeviceState.quarantined:
            return f"Quarantined after {self.consecutive_failures} failed runs in a row: check it, then enable it."
        return None

    @property
    def effective_state(self) -> DeviceState:
        return effective_state(self.state, self.disabled, self.quarantined, self.lease_run_id)


def effective_state(state: str, disabled: bool, quarantined: bool, lease_run_id: int | None) -> DeviceState:
    """What a phone is, for people: disabled and quarantined first, online with a lease is busy.
    A function of the columns, so /metrics can count phones from plain rows."""
    if disabled:
        return DeviceState.disabled
    if quarantined:
        return DeviceState.quarantined
    if state == DeviceState.online and lease_run_id is not None:
        return DeviceState.busy
    return DeviceState(state)
