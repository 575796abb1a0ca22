"""The farm's view of its phones: registration by agents, heartbeats, selection, admin.

Agents report what adb sees; this module turns that into true states. A phone is its
hardware identity (serial + manufacturer/model); its host and adb address are attributes.
A host that stops heartbeating has its phones marked offline by `sweep_stale_hosts`; its
next heartbeat brings them back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, selectinload

from contracts.reports import DeviceReport
from contracts.settings import get_settings
from contracts.vocabulary import DeviceState, host_queue
from server.api.errors import NotFound, ProblemError
from server.db import utcnow
from server.devices.models import Device, FarmHost

TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def queue_for(host_name: str) -> str:
    return host_queue(host_name)


def get_or_create_host(db: Session, name: str) -> FarmHost:
    if not HOST_RE.match(name):
        raise ProblemError(
            422, "Invalid host name", f"Host name {name!r} may hold only letters, digits, '_', '.', '-'."
        )
    host = db.scalar(select(FarmHost).where(FarmHost.name == name))
    if host is None:
        host = FarmHost(name=name, queue=queue_for(name))
        db.add(host)
        db.flush()
    return host


def _by_identity(db: Session, report: DeviceReport) -> Device | None:
    """The phone with this hardware serial and make, wherever and however it was connected before."""
    if not report.hardware_serial:
        return None
    for device in db.scalars(select(Device).where(Device.serial == report.hardware_serial)):
        if (device.manufacturer, device.model) == (report.manufacturer, report.model):
            return device
    return None


def _at_address(db: Session, host: FarmHost, address: str) -> Device | None:
    return db.scalar(
        select(Device)
        .where(Device.host_id == host.id, Device.address == address)
        .order_by(Device.id)
        .limit(1)
    )


def upsert_device(db: Session, host_name: str, report: DeviceReport) -> tuple[Device, bool]:
    """Register or refresh a phone. Returns (device, came_online).

    The phone is found by its hardware identity first (so a phone moved to Wi-Fi adb, to
    another host or restarted on another port is the same phone), else by its adb address on
    this host (a phone that couldn't be read yet, e.g. unauthorized, is known by its address).
    """
    host = get_or_create_host(db, host_name)
    address = report.serial
    device = _by_identity(db, report)
    if device is None:
        placeholder = _at_address(db, host, address)
        if placeholder is not None and (
            not report.hardware_serial or (placeholder.manufacturer is None and placeholder.serial == address)
        ):
            device = placeholder  # the same connection, now (or still) unreadable: adopt it
    was_online = device is not None and device.state == DeviceState.online and device.host_id == host.id
    if device is None:
        device = Device(serial=report.hardware_serial or address, host=host, tags=[])
        db.add(device)
    elif report.hardware_serial:
        device.serial = report.hardware_serial
    # whoever held this address on this host before is not reachable there any more
    for other in db.scalars(select(Device).where(Device.host_id == host.id, Device.address == address)):
        if other is not device:
            other.address = None
            other.state = DeviceState.offline.value
    device.host = host
    device.address = address
    fields = report.model_dump(exclude={"serial", "hardware_serial", "state"})
    if report.state != DeviceState.online:
        # an unauthorized or offline phone can't be read: keep what we knew
        fields = {k: v for k, v in fields.items() if v not in (None, [], False)}
    for key, value in fields.items():
        setattr(device, key, value)
    device.state = report.state.value
    device.last_seen = utcnow()
    db.flush()
    return device, report.state == DeviceState.online and not was_online


def heartbeat(
    db: Session, host_name: str, states: dict[str, DeviceState]
) -> tuple[list[Device], list[Device], list[str]]:
    """Record a host's heartbeat (states keyed by adb serial).

    Returns (phones that went offline, phones back online, adb serials the farm doesn't know,
    or knows only by address and that are online now: the agent reads and reports those).
    A phone marked offline because its host fell silent comes back on the first heartbeat
    that reports it online: presence heals without the agent having to re-announce it.
    """
    host = get_or_create_host(db, host_name)
    host.last_heartbeat = utcnow()
    gone: list[Device] = []
    back: list[Device] = []
    seen: set[str] = set()
    for device in db.scalars(select(Device).where(Device.host_id == host.id)):
        state = states.get(device.address or "")
        if state is None:
            if device.state != DeviceState.offline:
                device.state = DeviceState.offline.value
                gone.append(device)
            continue
        if state == DeviceState.online and device.manufacturer is None and device.model is None:
            continue  # never read (it was unauthorized or still connecting): the agent reports it first
        seen.add(device.address or "")
        if state == DeviceState.online:
            device.last_seen = host.last_heartbeat
            if device.state != DeviceState.online:
                back.append(device)
        device.state = state.value
    return gone, back, sorted(set(states) - seen)


def sweep_stale_hosts(db: Session) -> list[Device]:
    """Mark offline the phones of hosts whose agent stopped heartbeating (or never started)."""
    cutoff = utcnow() - timedelta(seconds=get_settings().offline_after_s)
    stale = select(FarmHost.id).where(
        or_(
            FarmHost.last_heartbeat < cutoff,
            and_(FarmHost.last_heartbeat.is_(None), FarmHost.created_at < cutoff),
        )
    )
    devices = list(
        db.scalars(select(Device).where(Device.host_id.in_(stale), Device.state != DeviceState.offline))
    )
    for device in devices:
        device.state = DeviceState.offline.value
    return devices


def list_devices(
    db: Session,
    *,
    state: str | None = None,
    soc: str | None = None,
    tag: str | None = None,
    host: str | None = None,
    include_virtual: bool = True,
) -> list[Device]:
    query = select(Device).options(selectinload(Device.host)).order_by(Device.id)
    if soc:
        query = query.where(Device.soc_name == soc)
    if host:
        query = query.join(FarmHost).where(FarmHost.name == host)
    if not include_virtual:
        query = query.where(~Device.is_virtual)
    devices: Sequence[Device] = db.scalars(query).all()
    if tag:
        devices = [d for d in devices if tag in (d.tags or [])]
    if state:
        devices = [d for d in devices if d.effective_state == state]
    return list(devices)


def get_device(db: Session, device_id: int) -> Device:
    device = db.get(Device, device_id)
    if device is None:
        raise NotFound("device", device_id)
    return device


def set_disabled(db: Session, device_id: int, disabled: bool) -> Device:
    device = get_device(db, device_id)
    device.disabled = disabled
    if not disabled:
        device.quarantined = False
        device.consecutive_failures = 0
    return device


def check_tags(tags: list[str]) -> list[str]:
    bad = [t for t in tags if not TAG_RE.match(t)]
    if bad:
        raise ProblemError(422, "Invalid tag", f"Tags {bad} must be letters, digits and _.:- (at most 64).")
    return tags


def add_tags(db: Session, device_id: int, tags: list[str]) -> Device:
    device = get_device(db, device_id)
    device.tags = sorted(set(device.tags or []) | set(check_tags(tags)))
    return device


def remove_tags(db: Session, device_id: int, tags: list[str]) -> Device:
    device = get_device(db, device_id)
    device.tags = sorted(set(device.tags or []) - set(tags))
    return device


def runnable(device: Device) -> bool:
    return device.state == DeviceState.online and not device.disabled and not device.quarantined


def release_lease(db: Session, device_id: int, run_id: int) -> None:
    db.execute(
        update(Device)
        .where(Device.id == device_id, Device.lease_run_id == run_id)
        .values(lease_run_id=None, lease_expires_at=None)
    )
