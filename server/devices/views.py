"""REST routes for phones (read: everyone; change: admins; report: agents)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from contracts.reports import DeviceReport, Heartbeat, HeartbeatReply
from server.api.deps import DB, Admin, Agent, IdPath, NamePath, SerialPath, TextQuery, Viewer, check_host
from server.api.routing import UnitOfWorkRoute
from server.devices import service
from server.devices.schemas import DeviceOut, TagsIn
from server.jobs.lifecycle import wake_waiting_runs
from server.queue import enqueue

router = APIRouter(route_class=UnitOfWorkRoute, tags=["devices"])


@router.get("/devices", response_model=list[DeviceOut])
def list_devices(
    db: DB,
    _: Viewer,
    state: TextQuery = None,
    soc: TextQuery = None,
    tag: TextQuery = None,
    host: TextQuery = None,
    include_virtual: bool = Query(True),
) -> list[DeviceOut]:
    devices = service.list_devices(
        db, state=state, soc=soc, tag=tag, host=host, include_virtual=include_virtual
    )
    return [DeviceOut.model_validate(d) for d in devices]


@router.get("/devices/{device_id}", response_model=DeviceOut, responses={404: {}})
def get_device(db: DB, _: Viewer, device_id: IdPath) -> DeviceOut:
    return DeviceOut.model_validate(service.get_device(db, device_id))


@router.post("/devices/{device_id}/disable", response_model=DeviceOut, responses={404: {}})
def disable(db: DB, _: Admin, device_id: IdPath) -> DeviceOut:
    return DeviceOut.model_validate(service.set_disabled(db, device_id, True))


@router.post("/devices/{device_id}/enable", response_model=DeviceOut, responses={404: {}})
def enable(db: DB, _: Admin, device_id: IdPath) -> DeviceOut:
    device = service.set_disabled(db, device_id, False)
    db.flush()
    enqueue(db, wake_waiting_runs(db, device.id))
    return DeviceOut.model_validate(device)


@router.post("/devices/{device_id}/tags", response_model=DeviceOut, responses={404: {}})
def tag(db: DB, _: Admin, device_id: IdPath, body: TagsIn) -> DeviceOut:
    return DeviceOut.model_validate(service.add_tags(db, device_id, body.tags))


@router.delete("/devices/{device_id}/tags/{tag}", response_model=DeviceOut, responses={404: {}})
def untag(db: DB, _: Admin, device_id: IdPath, tag: NamePath) -> DeviceOut:
    return DeviceOut.model_validate(service.remove_tags(db, device_id, [tag]))


@router.put(
    "/hosts/{host}/devices/{serial}",
    response_model=DeviceOut,
    responses={403: {}},
    summary="Agent: report a phone (serial: its adb serial on this host)",
)
def report_device(db: DB, agent: Agent, host: NamePath, serial: SerialPath, body: DeviceReport) -> DeviceOut:
    check_host(agent, host)
    body.serial = serial
    device, came_online = service.upsert_device(db, host, body)
    if came_online:
        db.flush()
        enqueue(db, wake_waiting_runs(db, device.id))
    return DeviceOut.model_validate(device)


@router.post(
    "/hosts/{host}/heartbeat",
    response_model=HeartbeatReply,
    responses={403: {}},
    summary="Agent: the phones this host sees",
)
def heartbeat(db: DB, agent: Agent, host: NamePath, body: Heartbeat) -> HeartbeatReply:
    check_host(agent, host)
    _, back, unknown = service.heartbeat(db, host, body.devices)
    db.flush()
    for device in back:  # phones back after a silence: the runs that waited for them go (after commit)
        enqueue(db, wake_waiting_runs(db, device.id))
    return HeartbeatReply(host=host, unknown=unknown)
