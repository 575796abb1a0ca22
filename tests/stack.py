"""A real farm for integration tests: adb server, virtual phones, API, Celery worker, agent.

Nothing is mocked: the API and the worker are separate processes talking to real
Postgres and Redis (or, in embedded mode, a SQLite file and the SQLite broker).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import adbutils
import httpx
import psycopg

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379"
ROOT = Path(__file__).resolve().parents[1]


# a benchmark spec that finishes in a moment: what integration tests and bench scripts submit
QUICK: dict[str, Any] = {
    "num_runs": 5,
    "min_secs": 0.0,
    "warmup_min_secs": 0.0,
    "trials": 1,
    "cooldown_s": 0,
    "thermal_limit_c": None,
    "screen_off": False,
    "threads": [1],
}


_AS_FROM_A_TERMINAL = (
    "import runpy, signal; "
    "signal.signal(signal.SIGINT, signal.default_int_handler); "
    "signal.signal(signal.SIGQUIT, signal.SIG_DFL); "
    "runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"
)


def python_m(module: str, *args: str) -> list[str]:
    """`python -m MODULE ARGS`, with Ctrl-C (SIGINT) and Ctrl-\\ as a terminal gives them.

    Why: a process started in the background of a non-interactive shell (`cmd &`, as CI jobs
    and nohup'd runs are) inherits SIGINT and SIGQUIT ignored, Python keeps an ignored SIGINT
    ignored, and so does every process it starts. A test that stops something with SIGINT then
    waits for ever: ShellTest.test_sighup's `adb shell` client (every conformance run started so
    here; its /proc status showed SigIgn 0x...1006) and `farm up` (killed after its test's wait).
    """
    return [sys.executable, "-c", _AS_FROM_A_TERMINAL.format(module=module), *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.1, what: str = ""
) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as exc:
            last = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what or predicate}: last={last!r}")


class AdbServer:
    """A private adb server (the adbutils wheel's binary) on its own port and HOME.

    Its own HOME means its own ~/.android/adbkey, so it never touches a developer's adb;
    ADB_EMU=0 stops it scanning 5555-5585 for emulators, where another test's (or another
    session's) phone would otherwise show up. Tests running in parallel each get one.
    """

    def __init__(self, home: Path) -> None:
        self.port = free_port()
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in ("ADB_VENDOR_KEYS", "ANDROID_SERIAL")}
        env.update(
            HOME=str(home),
            ANDROID_USER_HOME=str(home / ".android"),
            ANDROID_ADB_SERVER_PORT=str(self.port),
            ADB_EMU="0",
        )
        self.env = env
        self.adb = adbutils.adb_path()
        # address -> a one-line account of the phone behind it, for wait_state's timeout message
        self.explainers: dict[str, Callable[[], str]] = {}

    def cmd(self, *args: str, timeout: float = 30, check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.adb, "-P", str(self.port), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    def start(self) -> None:
        self.cmd("start-server", check=True)

    def stop(self) -> None:
        self.cmd("kill-server")

    @property
    def client(self) -> adbutils.AdbClient:
        # the farm's client: adbutils' own answers a stopped server by starting one on the default
        # port 5037 (with the caller's HOME), which then outlives the tests (seen after `make conformance`)
        from device_agent.adb_client import FarmAdbClient

        return FarmAdbClient(host="127.0.0.1", port=self.port, socket_timeout=20)

    @property
    def pubkey(self) -> bytes:
        return (self.home / ".android" / "adbkey.pub").read_bytes()

    def state(self, address: str) -> str:
        """The state adb lists for `address` ("device", "offline", "unauthorized"), or "absent"."""
        for info in self.client.list():
            if info.serial == address:
                return str(info.state)
        return "absent"

    def explain(self, address: str) -> str:
        """What a failed wait should say: adb's own device list, and what the test knows of the
        phone (`explainers[address]`, e.g. its connection count), so a CI log explains itself."""
        try:
            listing = self.cmd("devices", "-l", timeout=10).stdout.strip()
        except Exception as exc:  # a wedged adb server is worth reporting too
            listing = f"(adb devices -l failed: {exc!r})"
        text = f"adb devices -l:\n{listing}"
        explainer = self.explainers.get(address)
        if explainer is not None:
            try:
                text += f"\nphone: {explainer()}"
            except Exception as exc:
                text += f"\nphone: (unknown: {exc!r})"
        return text

    def wait_state(self, address: str, states: set[str], timeout: float = 10) -> str:
        seen: list[str] = []

        def reached() -> str | None:
            st = self.state(address)
            if not seen or seen[-1] != st:
                seen.append(st)
            return st if st in states else None

        try:
            return str(wait_for(reached, timeout, 0.05, f"{address} in {sorted(states)}"))
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; states seen: {seen}\n{self.explain(address)}") from None

    def disconnect(self, address: str, timeout: float = 10) -> None:
        """`adb disconnect`, then wait until adb has really dropped the transport.

        adb answers "disconnected" when it has only *kicked* the transport: one that adb was
        reconnecting (a dropped `adb connect` transport, listed offline) is removed a moment
        later by adb's ReconnectHandler thread. An `adb connect` in that window is answered
        "already connected to ADDR" for the transport about to vanish, and the phone is then
        absent for good (seen in CI on a loaded machine; adb's own log shows the new transport
        destroyed as a duplicate just before the kicked one is removed).
        """
        self.cmd("disconnect", address, timeout=timeout)
        self.wait_state(address, {"absent"}, timeout)

    def connect(self, address: str, states: set[str] | None = None, timeout: float = 20) -> str:
        """`adb connect`, then wait until adb lists the phone in one of `states` (default: device).

        For a phone that should come up, `adb connect` is repeated while adb lists nothing for
        the address: adb's "already connected to ADDR" may be about a transport it is removing
        (see disconnect), and "connected" only means the handshake began.
        """
        if states is not None:  # unauthorized or offline on purpose: adb's message says so, once is enough
            msg = self.client.connect(address, timeout=10)
            self.wait_state(address, states, timeout)
            return str(msg)
        replies: list[str] = []

        def connected() -> str | None:
            if replies and self.state(address) == "device":
                return replies[-1]
            if not replies or self.state(address) == "absent":
                replies.append(str(self.client.connect(address, timeout=10)))
            return None

        try:
            return str(wait_for(connected, timeout, 0.1, f"adb connect {address} to list it as device"))
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; adb connect replied {replies}\n{self.explain(address)}") from None

    @contextlib.contextmanager
    def watch(self, address: str) -> Iterator[StateWatch]:
        """Record every state adb reports for `address` (`adb track-devices`) while the block runs.

        A dropped `adb connect` transport is offline only ~250 ms before adb reconnects it by
        itself (its ReconnectHandler), too short a window for polling `adb devices` on a loaded
        machine; the tracker gets every change pushed."""
        w = StateWatch(self.port, address)
        try:
            yield w
        finally:
            w.close()

    def device(self, address: str) -> adbutils.AdbDevice:
        return self.client.device(address)


class StateWatch:
    """The states adb's device tracker reports for one address, in order ("absent" when an update
    no longer lists it); read on a daemon thread until close()."""

    def __init__(self, adb_port: int, address: str) -> None:
        self.address = address
        self.states: list[str] = []
        self._cond = threading.Condition()
        self._sock = socket.create_connection(("127.0.0.1", adb_port), timeout=10)
        request = b"host:track-devices"
        self._sock.sendall(b"%04x" % len(request) + request)
        if self._recv(4) != b"OKAY":
            self._sock.close()
            raise ConnectionError("adb refused host:track-devices")
        self._sock.settimeout(None)
        self._thread = threading.Thread(target=self._read, daemon=True, name=f"watch-{address}")
        self._thread.start()

    def _recv(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self._sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("adb closed the tracker")
            data += chunk
        return data

    def _read(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            while True:
                text = self._recv(int(self._recv(4), 16)).decode()
                state = "absent"
                for line in text.splitlines():
                    serial, _, st = line.partition("\t")
                    if serial == self.address:
                        state = st.strip()
                with self._cond:
                    if not self.states or self.states[-1] != state:
                        self.states.append(state)
                    self._cond.notify_all()

    def wait(self, states: set[str], timeout: float = 10) -> str:
        """The first state in `states` that adb reported since the watch began (waiting for one)."""
        with self._cond:
            found = self._cond.wait_for(lambda: next((s for s in self.states if s in states), None), timeout)
        if found is None:
            raise TimeoutError(
                f"adb never reported {self.address} in {sorted(states)}: it reported {self.states}"
            )
        return str(found)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(5)


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


class PrivatePostgres:
    """A Postgres cluster of the test's own: initdb in a temp dir, its own port, stopped at will.

    Tests that stop the database must never stop the machine's shared cluster (other
    tests and sessions use it). Run as root, the cluster belongs to the postgres user.
    """

    def __init__(self) -> None:
        bin_dir = _postgres_bin()
        if bin_dir is None:
            raise FileNotFoundError("no Postgres server binaries under /usr/lib/postgresql")
        self.bin = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="farm-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._as_owner(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"
        )
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_owner(self, *args: str) -> None:
        cmd = ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_owner(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "start"
        )

    def stop(self) -> None:
        self._as_owner(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _virtual_phone_stacks() -> list[str]:
    """Where this process's virtual-phone threads are (their runs execute here): a hung run's stack."""
    import threading
    import traceback

    names = {t.ident: t.name for t in threading.enumerate()}
    out = []
    for ident, frame in sys._current_frames().items():
        stack = traceback.format_stack(frame)
        if any("device_agent/virtual" in line for line in stack):
            out.append(f"--- thread {names.get(ident, ident)} (virtual phones)")
            out.extend(line.rstrip() for line in stack[-12:])
    return out


class FarmStack:
    def __init__(
        self,
        tmp: Path,
        mode: str = "production",
        host_name: str = "hostA",
        binaries: bool = True,
        pg_admin: str = PG_ADMIN,
    ) -> None:
        self.tmp = tmp
        self.mode = mode
        self.host_name = host_name
        self.procs: list[subprocess.Popen[bytes]] = []
        self.api_port = free_port()
        self.data_dir = tmp / "farm-data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.db_name = ""
        if mode == "production":
            self.db_name = f"farm_{uuid.uuid4().hex[:10]}"
            self.pg_admin = pg_admin
            with psycopg.connect(pg_admin, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {self.db_name}")
            server = pg_admin.removeprefix("postgresql://").rsplit("/", 1)[0]
            self.database_url = f"postgresql+psycopg://{server}/{self.db_name}"
            self.broker_url = f"{REDIS}/{(hash(self.db_name) % 14) + 1}"
            self.broker_prefix = f"{self.db_name}:"
        else:
            self.database_url = f"sqlite:///{self.data_dir / 'farm.db'}"
            self.broker_url = f"sqla+sqlite:///{self.data_dir / 'broker.db'}"
            self.broker_prefix = ""
        self.env: dict[str, str] = dict(
            os.environ,
            FARM_DATABASE_URL=self.database_url,
            FARM_BROKER_URL=self.broker_url,
            FARM_BROKER_PREFIX=self.broker_prefix,
            FARM_DATA_DIR=str(self.data_dir),
            FARM_API_URL=f"http://127.0.0.1:{self.api_port}",
            FARM_HOST_NAME=host_name,
            FARM_HEARTBEAT_S="1",
            FARM_STALE_RUN_S="6",
            FARM_REDISPATCH_S="4",
            # a test's benchmark runs for seconds: one that hangs (a phone that stopped answering)
            # fails at this timeout, well before the tests' waits for their jobs (120-180 s), so
            # the test fails saying which run timed out instead of timing out itself
            FARM_RUN_TIMEOUT_S="60",
            PYTHONUNBUFFERED="1",
        )
        self.apply_env()
        from server.migrate import upgrade

        upgrade()
        from contracts.vocabulary import Role
        from server.auth.service import create_token
        from server.db import session_scope

        with session_scope() as db:
            self.token = create_token(db, "test-admin", Role.admin)
        if binaries:  # a benchmark_model per ABI of the profiles: virtual phones emulate any ELF for theirs
            self.add_binaries("arm64-v8a", "armeabi-v7a")
        self.env["FARM_TOKEN"] = self.token
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{self.api_port}/api/v1",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )

    def add_binaries(self, *abis: str) -> list[str]:
        """Register a fake benchmark_model (a valid ELF header) per ABI, as `farm binary add` does."""
        import io

        from contracts.elf import fake_elf
        from server.binaries.service import store_binary
        from server.db import session_scope

        shas = []
        with session_scope() as db:
            for abi in abis:
                binary, _ = store_binary(
                    db, io.BytesIO(fake_elf(abi, b"test benchmark_model")), added_by="test"
                )
                shas.append(binary.sha256)
        return shas

    def apply_env(self) -> None:
        """Point this (test) process's settings at the stack too, until `close` puts them back."""
        from server.db import reset_caches

        if not hasattr(self, "_saved_env"):
            self._saved_env = {k: v for k, v in os.environ.items() if k.startswith("FARM_")}
        for key, value in self.env.items():
            if key.startswith("FARM_"):
                os.environ[key] = value
        reset_caches()

    def restore_env(self) -> None:
        """The next test in this process (xdist runs many in one) starts from the same settings."""
        saved = getattr(self, "_saved_env", None)
        if saved is None:
            return
        for key in [k for k in os.environ if k.startswith("FARM_")]:
            if key not in saved:
                del os.environ[key]
        os.environ.update(saved)

    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, *args],
            env=env or self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def start_api(self) -> subprocess.Popen[bytes]:
        proc = self.spawn(
            "api",
            ["-m", "uvicorn", "server.main:app", "--port", str(self.api_port), "--log-level", "warning"],
        )
        wait_for(lambda: self.http.get("/healthz").status_code == 200, 30, 0.2, "API")
        return proc

    def host_env(self, adb: AdbServer, host_name: str | None = None) -> dict[str, str]:
        return dict(
            self.env,
            FARM_ADB_PORT=str(adb.port),
            HOME=str(adb.home),
            FARM_HOST_NAME=host_name or self.host_name,
        )

    def start_worker(
        self, adb: AdbServer, host_name: str | None = None, concurrency: int = 4
    ) -> subprocess.Popen[bytes]:
        return self.spawn(
            f"worker-{host_name or self.host_name}",
            ["-m", "cli.main", "worker", "--concurrency", str(concurrency)],
            self.host_env(adb, host_name),
        )

    def start_agent(self, adb: AdbServer, host_name: str | None = None) -> subprocess.Popen[bytes]:
        return self.spawn(
            f"agent-{host_name or self.host_name}", ["-m", "cli.main", "agent"], self.host_env(adb, host_name)
        )

    def devices(self) -> list[dict[str, Any]]:
        return list(self.http.get("/devices").json())

    def wait_online(self, n: int, timeout: float = 30) -> list[dict[str, Any]]:
        return list(
            wait_for(
                lambda: (d := [x for x in self.devices() if x["state"] == "online"]) and len(d) >= n and d,
                timeout,
                0.2,
                f"{n} phones online",
            )
        )

    def upload(self, path: Path, name: str | None = None) -> dict[str, Any]:
        with path.open("rb") as fh:
            resp = self.http.post("/models", files={"file": (name or path.name, fh)})
        assert resp.status_code in (200, 201), resp.text
        return dict(resp.json())

    def wait_job(self, job_id: int, timeout: float = 120) -> dict[str, Any]:
        """The job once terminal; on timeout, a TimeoutError that says where it stands: its runs
        (state, attempts, failure) and the tail of each worker's log."""
        last: list[dict[str, Any]] = []

        def done() -> dict[str, Any] | None:
            job = self.http.get(f"/benchmarks/{job_id}").json()
            last[:] = [job]
            return job if job["state"] in ("succeeded", "failed", "partial", "cancelled") else None

        try:
            return dict(wait_for(done, timeout, 0.3, f"job {job_id}"))
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\n{self.job_report(last[0] if last else None)}") from None

    def job_report(self, job: dict[str, Any] | None) -> str:
        """A job's state, its runs' states and failures, and the last lines of the workers' logs."""
        lines = []
        if job is None:
            lines.append("the job was never read")
        else:
            lines.append(f"job {job.get('id')}: {job.get('state')} progress={job.get('progress')}")
            for r in job.get("runs", []):
                lines.append(
                    f"  run {r['id']} device={r['device_id']} {r['delegate']} threads={r['threads']}: "
                    f"{r['state']} attempts={r['attempts']} started={r['started_at']} "
                    f"finished={r['finished_at']} error={r['error']!r}"
                )
        lines.extend(_virtual_phone_stacks())
        for path in sorted(self.tmp.glob("worker*.log")):
            tail = path.read_text(errors="replace").splitlines()[-40:]
            lines.append(f"--- last {len(tail)} lines of {path.name}")
            lines.extend(tail)
        return "\n".join(lines)

    def assert_exactly_once(self) -> None:
        """Every run has exactly one final state; every succeeded run exactly one result, others none."""
        from sqlalchemy import func, select

        from contracts.vocabulary import TERMINAL_RUN_STATES, RunState
        from server.db import session_scope
        from server.jobs.models import Run
        from server.results.models import Result

        with session_scope() as db:
            counts = dict(db.execute(select(Result.run_id, func.count()).group_by(Result.run_id)).all())
            runs = list(db.scalars(select(Run)))
            assert runs, "no runs at all"
            for run in runs:
                assert run.state in TERMINAL_RUN_STATES, f"run {run.id} is still {run.state}"
                expected = 1 if run.state == RunState.succeeded else 0
                assert counts.get(run.id, 0) == expected, (
                    f"run {run.id} ({run.state}) has {counts.get(run.id, 0)} results"
                )

    def wait_run_state(self, job_id: int, state: str, timeout: float = 60) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            job = self.http.get(f"/benchmarks/{job_id}").json()
            return next((r for r in job["runs"] if r["state"] == state), None)

        return dict(wait_for(find, timeout, 0.1, f"a {state} run in job {job_id}"))

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in self.tmp.glob("*.log")
        )

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.http.close()
        from server.db import reset_caches

        self.restore_env()
        reset_caches()
        if self.db_name:
            with psycopg.connect(self.pg_admin, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)")
