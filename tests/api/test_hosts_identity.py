"""A phone is its hardware identity, not its connection; an agent token speaks for one host."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import make_token

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_segmenter.tflite"


def host_token(host: str) -> dict[str, str]:
    from contracts.vocabulary import Role
    from server.auth.service import create_token, free_token_name
    from server.db import session_scope

    user = f"agent {host}"
    with session_scope() as db:
        token = create_token(db, free_token_name(db, user, user), Role.agent, host, user=user)
    return {"Authorization": f"Bearer {token}"}


def report(address: str, serial: str | None = "HW123", state: str = "online") -> dict[str, object]:
    body: dict[str, object] = {"serial": address, "state": state}
    if state == "online":
        body |= {
            "hardware_serial": serial,
            "manufacturer": "Google",
            "model": "Pixel 7",
            "soc_name": "Tensor G2",
        }
    return body


def test_the_same_phone_over_usb_wifi_and_another_host_is_one_device(api: TestClient) -> None:
    a, b = host_token("labA"), host_token("labB")
    usb = api.put("/api/v1/hosts/labA/devices/HW123", json=report("HW123"), headers=a).json()
    wifi = api.put("/api/v1/hosts/labA/devices/10.0.0.7:5555", json=report("10.0.0.7:5555"), headers=a).json()
    moved = api.put("/api/v1/hosts/labB/devices/XYZ", json=report("XYZ"), headers=b).json()
    assert usb["id"] == wifi["id"] == moved["id"]
    assert (wifi["address"], wifi["host"]) == ("10.0.0.7:5555", "labA")
    assert (moved["serial"], moved["address"], moved["host"]) == ("HW123", "XYZ", "labB")
    assert len(api.get("/api/v1/devices").json()) == 1
    other = api.put("/api/v1/hosts/labB/devices/Q", json=report("Q", "HW999"), headers=b).json()
    assert other["id"] != moved["id"]


def test_a_phone_known_only_by_its_address_keeps_its_row_once_readable(api: TestClient) -> None:
    a = host_token("labA")
    locked = api.put(
        "/api/v1/hosts/labA/devices/R58N", json=report("R58N", state="unauthorized"), headers=a
    ).json()
    assert locked["serial"] == "R58N" and locked["state"] == "unauthorized"
    readable = api.put("/api/v1/hosts/labA/devices/R58N", json=report("R58N", "R58N"), headers=a).json()
    assert readable["id"] == locked["id"] and readable["state"] == "online"


def test_a_host_token_cannot_touch_another_hosts_phones(api: TestClient) -> None:
    a, b = host_token("labA"), host_token("labB")
    assert api.put("/api/v1/hosts/labB/devices/X", json=report("X"), headers=b).status_code == 200
    resp = api.put("/api/v1/hosts/labB/devices/X", json=report("X", state="offline"), headers=a)
    assert resp.status_code == 403 and "labA" in resp.json()["detail"]
    assert api.post("/api/v1/hosts/labB/heartbeat", json={"devices": {}}, headers=a).status_code == 403
    assert api.post("/api/v1/hosts/labC/heartbeat", json={"devices": {}}, headers=a).status_code == 403
    (device,) = api.get("/api/v1/devices").json()
    assert device["state"] == "online" and device["host"] == "labB"
    claim = api.post(f"/api/v1/devices/{device['id']}/claim-next", json={"worker": "w"}, headers=a)
    assert claim.status_code == 403
    assert (
        api.post(f"/api/v1/devices/{device['id']}/claim-next", json={"worker": "w"}, headers=b).json()[
            "outcome"
        ]
        == "finished"
    )


def test_a_phone_offline_after_a_silence_comes_back_with_the_next_heartbeat(api: TestClient) -> None:
    a = host_token("labA")
    api.put("/api/v1/hosts/labA/devices/S1", json=report("S1", "S1"), headers=a)
    gone = api.post("/api/v1/hosts/labA/heartbeat", json={"devices": {}}, headers=a).json()
    assert gone["unknown"] == []
    assert api.get("/api/v1/devices").json()[0]["state"] == "offline"
    back = api.post(
        "/api/v1/hosts/labA/heartbeat", json={"devices": {"S1": "online", "NEW": "online"}}, headers=a
    ).json()
    assert back["unknown"] == ["NEW"]  # the agent then reports it
    assert api.get("/api/v1/devices").json()[0]["state"] == "online"


def test_model_bytes_are_served_to_agents_only(api: TestClient) -> None:
    admin = make_token("admin")
    with FIXTURE.open("rb") as fh:
        model = api.post("/api/v1/models", files={"file": ("tiny.tflite", fh)}, headers=admin).json()
    url = f"/api/v1/models/{model['id']}/file"
    assert api.get(url, headers=make_token("viewer")).status_code == 403
    assert api.get(url, headers=make_token("submitter")).status_code == 403
    resp = api.get(url, headers=host_token("labA"))
    assert resp.status_code == 200 and resp.headers["x-content-sha256"] == model["sha256"]
    assert hashlib.sha256(resp.content).hexdigest() == model["sha256"]
    assert api.get("/api/v1/models/999/file", headers=admin).status_code == 404


def test_farm_token_create_binds_agent_tokens_to_a_host(api: TestClient) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    runner = CliRunner()
    unbound = runner.invoke(app, ["token", "create", "--role", "agent"])
    assert unbound.exit_code == 1 and "--host" in unbound.output
    wrong = runner.invoke(app, ["token", "create", "--role", "viewer", "--host", "labA"])
    assert wrong.exit_code == 1
    made = runner.invoke(app, ["token", "create", "--role", "agent", "--host", "labA"])
    assert made.exit_code == 0, made.output
    headers = {"Authorization": f"Bearer {made.output.strip()}"}
    assert api.post("/api/v1/hosts/labA/heartbeat", json={"devices": {}}, headers=headers).status_code == 200
    assert api.post("/api/v1/hosts/labB/heartbeat", json={"devices": {}}, headers=headers).status_code == 403
    listed = runner.invoke(app, ["token", "list"])
    assert "labA" in listed.output
