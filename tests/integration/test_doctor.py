"""`farm doctor` on a healthy farm host (exit 0), then with each check broken (exit 1 and its fix)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.stack import ROOT, AdbServer, FarmStack, free_port, wait_for

pytestmark = pytest.mark.integration


def doctor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "doctor", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )


def failing(result: subprocess.CompletedProcess[str]) -> str:
    """The FAIL lines and their fixes, one string (rich may wrap)."""
    assert "Traceback" not in result.stderr, result.stderr
    return " ".join(result.stdout.split())


def test_doctor_passes_on_a_healthy_farm_and_names_the_fix_for_each_failure(
    prod: FarmStack, adb_server: AdbServer, tmp_path: Path
) -> None:
    from device_agent.virtual.fleet import PhoneFleet

    with PhoneFleet(as_real=True) as fleet:
        phone = fleet.add("sdm845")
        adb_server.connect(phone.address)
        prod.start_api()
        prod.start_agent(adb_server)
        prod.wait_online(1)
        prod.start_worker(adb_server)
        env = prod.host_env(adb_server)

        healthy = wait_for(lambda: (r := doctor(env)).returncode == 0 and r, 60, 1.0, "a healthy doctor")
        text = failing(healthy)
        assert f"adb server: reachable on 127.0.0.1:{adb_server.port}" in text
        assert f"phone {phone.address}: device" in text and "FAIL" not in text

        # adb server not where FARM_ADB_PORT says
        r = doctor(env | {"FARM_ADB_PORT": str(free_port())})
        assert r.returncode == 1 and "start-server" in failing(r)

        # the disk is (said to be) too small
        r = doctor(env, "--min-free-gb", "1000000")
        assert r.returncode == 1 and "FARM_DATA_DIR at a larger disk" in failing(r)

        # no worker consumes this host's queue
        r = doctor(env | {"FARM_HOST_NAME": "nobody-here"})
        assert r.returncode == 1 and "no worker consumes host.nobody-here" in failing(r)

        # no binary for the phone's ABI
        for b in prod.http.get("/binaries").json():
            assert prod.http.delete(f"/binaries/{b['sha256']}").status_code == 200
        r = doctor(env)
        assert r.returncode == 1 and "farm binary fetch --abi arm64-v8a" in failing(r)
        prod.add_binaries("arm64-v8a")

        # the API is not there
        r = doctor(env | {"FARM_API_URL": f"http://127.0.0.1:{free_port()}"})
        assert r.returncode == 1 and "start it ('farm api' or 'farm up')" in failing(r)

        # an API whose database and broker are unreachable
        port = free_port()
        broken = env | {
            "FARM_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none",
            "FARM_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0",
        }
        prod.spawn("api-broken", ["-m", "uvicorn", "server.main:app", "--port", str(port)], broken)
        wait_for(lambda: doctor(env | {"FARM_API_URL": f"http://127.0.0.1:{port}"}).stdout, 30, 0.5)
        r = wait_for(
            lambda: (
                "answers" in (x := doctor(env | {"FARM_API_URL": f"http://127.0.0.1:{port}"})).stdout and x
            ),
            30,
            0.5,
            "the broken API",
        )
        text = failing(r)
        assert r.returncode == 1 and "FARM_DATABASE_URL" in text and "FARM_BROKER_URL" in text

        # a phone that was never authorized
        locked = fleet.add("msm8953", auth=True, allowed_keys=[])
        adb_server.client.connect(locked.address, timeout=5)
        r = wait_for(lambda: "unauthorized" in (x := doctor(env)).stdout and x, 30, 1.0, "unauthorized phone")
        assert r.returncode == 1 and "accept the RSA prompt on the phone" in failing(r)


def test_the_worker_check_asks_the_configured_broker_and_says_which(tmp_path: Path) -> None:
    import uuid

    from cli.doctor import check_worker
    from contracts.broker import make_celery, send_runs
    from contracts.settings import Settings

    # the embedded farm: its SQLite broker file, no Redis anywhere
    embedded = Settings(data_dir=tmp_path / "farm", broker_url="", host_name="labA")
    path = (tmp_path / "farm" / "broker.db").resolve()
    missing = check_worker(embedded)
    assert not missing.ok and f"the embedded SQLite broker {path}" in missing.detail
    assert "FARM_DATA_DIR" in missing.fix and not path.exists()  # looked, created nothing
    send_runs(make_celery(settings=embedded), [(1, "host.labA"), (2, "host.labA")])
    seen = check_worker(embedded)
    assert seen.ok and seen.warning, seen
    assert f"the embedded SQLite broker {path} is reachable, 2 run(s) waiting in host.labA" in seen.detail

    # a Redis broker that is down: named (password masked), not reachable, how to fix
    port = free_port()
    down = check_worker(Settings(broker_url=f"redis://:secret@127.0.0.1:{port}/0", host_name="labA"))
    assert not down.ok and f"the Redis broker redis://:**@127.0.0.1:{port}/0 is not reachable" in down.detail
    assert "secret" not in down.detail and "FARM_BROKER_URL" in down.fix

    # a Redis broker that is up, with no worker on this host's queue
    prefix = f"doctor_{uuid.uuid4().hex[:8]}:"
    idle = check_worker(
        Settings(broker_url="redis://127.0.0.1:6379/15", broker_prefix=prefix, host_name="labA")
    )
    assert not idle.ok and "'farm worker'" in idle.fix
    assert (
        f"no worker consumes host.labA on the Redis broker redis://127.0.0.1:6379/15 (keys prefixed {prefix!r})"
        in (idle.detail)
    )
