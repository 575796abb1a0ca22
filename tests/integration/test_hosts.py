"""Farm hosts that share nothing but the API's URL, the broker's URL and a host-bound token;
phones that keep their identity across restarts; presence that heals by itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import FIXTURE_MODEL
from tests.stack import QUICK, ROOT, AdbServer, FarmStack, free_port, wait_for

pytestmark = pytest.mark.integration


class Host:
    """One farm host: its own data dir, adb server, virtual phones, agent and worker processes.

    Its processes get the API's URL, the broker's URL and this host's token; no database URL
    and no path on the API host.
    """

    def __init__(self, stack: FarmStack, root: Path, name: str, phones: list[tuple[str, str]]) -> None:
        from contracts.vocabulary import Role
        from device_agent.virtual.fleet import PhoneFleet
        from server.auth.service import create_token
        from server.db import session_scope

        self.stack, self.name = stack, name
        self.data_dir = root / "data"
        self.data_dir.mkdir(parents=True)
        self.adb = AdbServer(root / "adbhome")
        self.adb.start()
        self.fleet = PhoneFleet(root / "phones")
        self.phones = [self.fleet.add(profile, serial=serial) for profile, serial in phones]
        for phone in self.phones:
            self.adb.connect(phone.address)
        with session_scope() as db:
            self.token = create_token(db, f"agent {name}", Role.agent, name)
        shared = {"PATH", "LANG", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONUNBUFFERED"}
        self.env = {k: v for k, v in os.environ.items() if k in shared} | {
            "FARM_API_URL": stack.env["FARM_API_URL"],
            "FARM_BROKER_URL": stack.broker_url,
            "FARM_BROKER_PREFIX": stack.broker_prefix,
            "FARM_TOKEN": self.token,
            "FARM_HOST_NAME": name,
            "FARM_DATA_DIR": str(self.data_dir),
            "FARM_ADB_PORT": str(self.adb.port),
            "FARM_HEARTBEAT_S": "1",
            "HOME": str(self.adb.home),
        }
        self.agent = stack.spawn(f"agent-{name}", ["-m", "cli.main", "agent"], self.env)
        self.worker = stack.spawn(
            f"worker-{name}", ["-m", "cli.main", "worker", "--concurrency", "2"], self.env
        )

    def close(self) -> None:
        self.fleet.close()
        self.adb.stop()


@pytest.fixture
def prod(prod: FarmStack) -> FarmStack:
    """tests/conftest.py's farm, marking a silent phone offline after 3 s."""
    prod.env["FARM_OFFLINE_AFTER_S"] = "3"
    return prod


def _by_address(stack: FarmStack) -> dict[str, dict[str, Any]]:
    return {d["address"]: d for d in stack.devices() if d["address"]}


def test_two_hosts_share_nothing_but_the_api_the_broker_and_a_token(prod: FarmStack, tmp_path: Path) -> None:
    prod.start_api()
    a = Host(prod, tmp_path / "hostA", "hostA", [("sdm845", "HOSTA-1"), ("msm8953", "HOSTA-2")])
    b = Host(prod, tmp_path / "hostB", "hostB", [("sdm845", "HOSTB-1"), ("exynos7420", "HOSTB-2")])
    try:
        devices = prod.wait_online(4, 60)
        assert {d["serial"]: d["host"] for d in devices} == {
            "HOSTA-1": "hostA",
            "HOSTA-2": "hostA",
            "HOSTB-1": "hostB",
            "HOSTB-2": "hostB",
        }
        model = prod.upload(FIXTURE_MODEL)
        resp = prod.http.post(
            "/benchmarks",
            json={"model": str(model["id"]), "devices": {"all": True}, "delegates": ["cpu", "gpu"], **QUICK},
        )
        job = prod.wait_job(resp.json()["id"], 180)
        assert job["state"] == "succeeded", prod.logs()
        assert sum(1 for r in job["runs"] if r["result"]) == 8

        # each host holds the API's files (the model, the benchmark binary) only as its cache
        # fetched them through the API, by sha256
        served = {model["sha256"]} | {b["sha256"] for b in prod.http.get("/binaries").json()}
        for host in (a, b):
            files = [p.relative_to(host.data_dir).as_posix() for p in host.data_dir.rglob("*") if p.is_file()]
            assert f"cache/{model['sha256']}" in files, files
            assert all(f.startswith("cache/") and f.removeprefix("cache/") in served for f in files), files
        assert not any(Path(prod.data_dir).rglob("cache"))  # and the API's store never saw a worker

        # a host's token speaks for its host only
        other = next(d for d in devices if d["host"] == "hostB")
        as_a = httpx.Client(
            base_url=prod.env["FARM_API_URL"] + "/api/v1", headers={"Authorization": f"Bearer {a.token}"}
        )
        report = {"serial": other["address"], "state": "offline"}
        assert as_a.put(f"/hosts/hostB/devices/{other['address']}", json=report).status_code == 403
        assert as_a.post("/hosts/hostB/heartbeat", json={"devices": {}}).status_code == 403
        run_b = next(r for r in job["runs"] if r["device_id"] == other["id"])
        assert as_a.post(f"/runs/{run_b['id']}/claim", json={"worker": "x"}).status_code == 403
        assert as_a.post(f"/devices/{other['id']}/claim-next", json={"worker": "x"}).status_code == 403
        assert as_a.get(f"/models/{model['id']}/file").status_code == 200
        assert prod.http.get(f"/devices/{other['id']}").json()["state"] == "online"

        # host B's agent pauses longer than the farm waits: its phones go offline, then heal
        os.killpg(b.agent.pid, signal.SIGSTOP)
        try:
            b_ids = {d["id"] for d in devices if d["host"] == "hostB"}
            wait_for(
                lambda: all(d["state"] == "offline" for d in prod.devices() if d["id"] in b_ids),
                20,
                0.3,
                "host B's phones offline",
            )
            time.sleep(30 - 3)  # a 30 s pause in all
            assert all(d["state"] == "online" for d in prod.devices() if d["host"] == "hostA")
        finally:
            os.killpg(b.agent.pid, signal.SIGCONT)
        t0 = time.monotonic()
        wait_for(
            lambda: all(d["state"] == "online" for d in prod.devices() if d["id"] in b_ids),
            10,
            0.1,
            "host B's phones back online",
        )
        print(f"host B's phones back {time.monotonic() - t0:.1f} s after SIGCONT (heartbeat 1 s)")
        prod.assert_exactly_once()
    finally:
        a.close()
        b.close()


def _farm_up(root: Path, api_port: int, adb_port: int) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        FARM_DATA_DIR=str(root / "data"),
        FARM_ADB_PORT=str(adb_port),
        FARM_HOST_NAME="laptop",
        FARM_HEARTBEAT_S="1",
        HOME=str(root / "home"),
        PYTHONUNBUFFERED="1",
    )
    for key in ("FARM_DATABASE_URL", "FARM_BROKER_URL", "FARM_BROKER_PREFIX", "FARM_TOKEN", "FARM_API_URL"):
        env.pop(key, None)
    (root / "home").mkdir(parents=True, exist_ok=True)
    log = open(root / "up.log", "ab")  # noqa: SIM115
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.main",
            "up",
            "--port",
            str(api_port),
            "--virtual",
            "2",
            "--concurrency",
            "2",
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _ours(marker: str) -> list[int]:
    """Processes whose environment carries `marker` (this test's data dir): what farm up started."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdecimal() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def _cmdline(pid: int) -> str:
    try:
        return f"{pid}: " + (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return f"{pid}: (gone)"


def test_farm_up_restarts_with_the_same_phones_and_stops_cleanly(tmp_path: Path) -> None:
    api_port, adb_port = free_port(), free_port()
    data = tmp_path / "data"
    url = f"http://127.0.0.1:{api_port}/api/v1"

    def one_job() -> tuple[int, list[dict[str, Any]]]:
        proc = _farm_up(tmp_path, api_port, adb_port)
        try:
            token = wait_for(lambda: (data / "admin.token").read_text().strip(), 60, 0.3, "admin token")
            http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
            wait_for(
                lambda: len([d for d in http.get("/devices").json() if d["state"] == "online"]) == 2,
                90,
                0.3,
                "2 phones online",
            )
            with FIXTURE_MODEL.open("rb") as fh:
                model = http.post("/models", files={"file": ("tiny.tflite", fh)}).json()
            body = {"model": str(model["id"]), "devices": {"all": True}, **QUICK}
            # phones that just attached may blink (adb's handshake) before they settle
            resp = wait_for(
                lambda: (r := http.post("/benchmarks", json=body)).status_code == 202 and r, 20, 0.5, "submit"
            )
            job_id = resp.json()["id"]
            wait_for(
                lambda: http.get(f"/benchmarks/{job_id}").json()["state"] == "succeeded",
                120,
                0.3,
                f"job {job_id}",
            )
            return job_id, list(http.get("/devices").json())
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0, (tmp_path / "up.log").read_text()[-3000:]
            # nothing it started keeps running (no adb server, worker or API left with PPID 1)
            try:
                wait_for(lambda: not _ours(str(data)), 15, 0.3, "no process left")
            except TimeoutError:
                left = [_cmdline(pid) for pid in _ours(str(data))]
                pytest.fail(f"left running: {left}\n{(tmp_path / 'up.log').read_text()[-3000:]}")

    first, before = one_job()
    second, after = one_job()
    assert len(after) == len(before) == 2, after
    assert {d["serial"] for d in after} == {d["serial"] for d in before}
    assert {d["address"] for d in after} == {d["address"] for d in before}  # saved ports reused

    proc = _farm_up(tmp_path, api_port, adb_port)
    try:
        token = (data / "admin.token").read_text().strip()
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        wait_for(lambda: http.get("/devices").status_code == 200, 60, 0.3, "API")
        cmp = http.get("/compare", params={"a": first, "b": second}).json()
        assert len(cmp["pairs"]) == 2 and not cmp["missing"], cmp
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
