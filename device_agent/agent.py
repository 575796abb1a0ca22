"""The device agent: follows this host's adb server and keeps the farm's view of its phones true.

It listens to adb's `track-devices` stream (no polling) and reports each change at once;
a heartbeat every few seconds carries the complete list, so a missed event heals itself
and a host that dies is noticed by the server (its phones go offline).
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time

import adbutils

from contracts.settings import Settings, get_settings
from device_agent.adb_client import FarmAdbClient
from device_agent.api_client import FarmApi
from device_agent.phone.probe import probe

log = logging.getLogger("phonefarm.agent")

ADB_TO_FARM = {"device": "online", "unauthorized": "unauthorized"}


class Agent:
    def __init__(self, settings: Settings | None = None, api: FarmApi | None = None) -> None:
        self.settings = settings or get_settings()
        self.api = api or FarmApi(self.settings)
        self.adb = FarmAdbClient(host=self.settings.adb_host, port=self.settings.adb_port)
        self.host = self.settings.host_name
        self.stopping = threading.Event()
        self.known: dict[str, str] = {}
        # a heartbeat (adb list + POST) and a report never interleave: a list taken before a
        # phone joined must not reach the server after that phone was announced
        self.lock = threading.RLock()

    def states(self) -> dict[str, str]:
        return {d.serial: ADB_TO_FARM.get(d.state, "offline") for d in self.adb.list()}

    def heartbeat(self) -> None:
        with self.lock:
            self._heartbeat()

    def _heartbeat(self) -> None:
        reply = self.api.post(f"/hosts/{self.host}/heartbeat", json={"devices": self.states()})
        # phones the farm doesn't know (a report lost while the API was away): announce them now
        for serial in reply.get("unknown", []) if isinstance(reply, dict) else []:
            try:
                self.report(serial, self._adb_state(serial))
            except Exception as exc:
                log.warning("could not report %s: %s", serial, exc)

    def _adb_state(self, serial: str) -> str:
        return next((d.state for d in self.adb.list() if d.serial == serial), "offline")

    def report(self, serial: str, adb_state: str) -> None:
        state = ADB_TO_FARM.get(adb_state, "offline")
        body: dict[str, object] = {"serial": serial, "state": state}
        if state == "online":
            try:
                body = probe(self.adb.device(serial)).model_dump(mode="json") | {"state": "online"}
            except Exception as exc:  # a phone that can't be read still joins, flagged by its state
                log.warning("could not read identity of %s: %s", serial, exc)
                body["state"] = "offline"
        self.api.put(f"/hosts/{self.host}/devices/{serial}", json=body)
        log.info("phone %s is %s", serial, body["state"])

    def on_event(self, serial: str, status: str, present: bool) -> None:
        with self.lock:
            if present:
                self.known[serial] = status
                try:
                    self.report(serial, status)
                except Exception:  # one phone the server refuses must not stop the others' reports
                    log.exception("could not report phone %s; the other phones go on", serial)
            else:
                self.known.pop(serial, None)
                self.heartbeat()

    def _beat_loop(self) -> None:
        while not self.stopping.wait(self.settings.heartbeat_s):
            try:
                self.heartbeat()
            except Exception as exc:
                log.warning("heartbeat failed: %s", exc)

    def run(self) -> None:
        threading.Thread(target=self._beat_loop, daemon=True, name="agent-heartbeat").start()
        while not self.stopping.is_set():
            try:
                self.adb.server_version()
                self.heartbeat()
                # the stream opens with every phone already attached, then follows changes
                for event in self.adb.track_devices():
                    if self.stopping.is_set():
                        break
                    self.on_event(event.serial, event.status, event.present)
            except (adbutils.AdbError, OSError) as exc:
                if self.stopping.is_set():  # `farm up` stopping killed the server: never restart it
                    break
                log.warning("adb server unavailable (%s); starting it", exc)
                start_adb_server(self.settings.adb_port, check=False)
                time.sleep(0.5)
            except Exception:
                log.exception("agent loop error")
            self.stopping.wait(1.0)


def start_adb_server(port: int, *, check: bool = True) -> None:
    """Start this host's adb server (the one in the adbutils wheel) on `port` if it isn't running."""
    subprocess.run(
        [adbutils.adb_path(), "-P", str(port), "start-server"], check=check, capture_output=True, timeout=30
    )


def attach(address: str, settings: Settings | None = None) -> str:
    """`adb connect` a network phone; the agent then sees it like a USB one."""
    s = settings or get_settings()
    return str(FarmAdbClient(host=s.adb_host, port=s.adb_port).connect(address, timeout=10))
