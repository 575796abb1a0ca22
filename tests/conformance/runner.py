"""Run Android's own adb device tests (AOSP test_device.py) against one virtual phone.

Why: the virtual phone is the farm's test double; Android's suite is the outside judge of
whether it behaves like a phone. Everything runs here, nothing is fetched: the suite and its
`adb` helper package are vendored under vendor/ (see vendor/README.md).

Set-up: a private adb server (the adbutils wheel's binary, own port and HOME), one virtual
phone on a free port (never 5555–5585, which adb scans for emulators), `adb connect`. The
suite calls a bare `adb`, so a bin/ folder with an `adb` link goes first on PATH, and
ANDROID_ADB_SERVER_PORT / ANDROID_SERIAL point it at the private server and the phone.
Each test runs in its own process (and session) with a timeout; what it leaves running is
stopped after it. A test that times out is reported with what it still had running, what the
phone was doing and its Python traceback. If a test kills the adb server (the
detach/one-device tests do), the server is restarted and the phone reconnected.

    python -m tests.conformance.runner              # the whole suite, a summary, exit 1 on
                                                     # an unexpected failure
    python -m tests.conformance.runner -k Shell -v  # tests whose id contains "Shell"
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import adbutils

from tests.conformance.expected import EXPECTED_FAILURES, NOT_RUN
from tests.stack import AdbServer, free_port, python_m, wait_for

HERE = Path(__file__).resolve().parent
VENDOR = HERE / "vendor"
SHIM = HERE / "shim"
PROFILE = "gs201"  # Android 14: the suite is written against the newest adbd


@dataclass
class Outcome:
    test: str
    status: str  # pass | fail | error | skip | timeout | not-run
    seconds: float
    detail: str = ""


@dataclass
class Bench:
    """The private adb server and the phone, with the environment the suite runs in."""

    adb: AdbServer
    address: str
    env: dict[str, str]
    restart: object
    phone: Any = None  # the VirtualPhone, for what it was doing when a test hung


def _phone_port() -> int:
    while True:
        port = free_port()
        if not 5550 <= port <= 5590:
            return port


@contextmanager
def bench(profile: str = PROFILE) -> Iterator[Bench]:
    from device_agent.virtual.fleet import PhoneFleet

    tmp = Path(tempfile.mkdtemp(prefix="adb-conformance-"))
    adb = AdbServer(tmp / "home")
    bindir = tmp / "bin"
    bindir.mkdir()
    (bindir / "adb").symlink_to(adbutils.adb_path())
    fleet = PhoneFleet(tmp / "phones")
    try:
        phone = fleet.add(profile, _phone_port())
        address = phone.address

        def start() -> None:
            adb.start()
            adb.connect(address)
            wait_for(
                lambda: any(d.serial == address and d.state == "device" for d in adb.client.list()),
                15,
                0.1,
                f"{address} online",
            )

        start()
        env = dict(adb.env)
        env.update(
            PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}",
            ANDROID_SERIAL=address,
            ANDROID_ADB_SERVER_PORT=str(adb.port),
            PYTHONPATH=f"{VENDOR}{os.pathsep}{SHIM}",
            PYTHONDONTWRITEBYTECODE="1",
        )
        env.pop("ADB_COMPRESSION", None)
        yield Bench(adb, address, env, start, phone)
    finally:
        adb.stop()
        fleet.close()
        shutil.rmtree(tmp, ignore_errors=True)


def list_tests(env: dict[str, str]) -> list[str]:
    code = (
        "import unittest, test_device\n"
        "def walk(s):\n"
        "    for t in s:\n"
        "        yield from (walk(t) if isinstance(t, unittest.TestSuite) else [t])\n"
        "for t in walk(unittest.defaultTestLoader.loadTestsFromModule(test_device)):\n"
        "    print(t.id())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=VENDOR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [
        line.removeprefix("test_device.") for line in out.stdout.split() if line.startswith("test_device.")
    ]


def _status(rc: int, output: str) -> str:
    tail = output.strip().splitlines()[-1:] or [""]
    if rc == 0:
        return "skip" if "skipped=" in tail[0] and re.search(r"Ran 1 test", output) else "pass"
    return "error" if re.search(r"^ERROR:", output, re.M) else "fail"


def run_one(b: Bench, test: str, timeout: float) -> Outcome:
    if test in NOT_RUN:
        return Outcome(test, "not-run", 0.0, NOT_RUN[test])
    start = time.monotonic()
    # python_m: SIGINT as from a terminal (test_sighup interrupts its adb client with it)
    run = run_process(python_m("unittest", "-v", f"test_device.{test}"), b.env, timeout, phone=b.phone)
    seconds = time.monotonic() - start
    try:
        online = any(d.serial == b.address and d.state == "device" for d in b.adb.client.list())
    except Exception:
        online = False
    if not online:  # the test killed or detached our server: bring the bench back
        b.adb.stop()
        b.restart()  # type: ignore[operator]
    output = run.stdout + run.stderr
    if run.hung is not None:
        tail = (run.stdout.strip().splitlines() + run.stderr.strip().splitlines())[-60:]
        return Outcome(test, "timeout", seconds, "\n".join([run.hung, "output tail:", *tail]))
    status = _status(run.returncode, output)
    return Outcome(test, status, seconds, _summary(output) if status != "pass" else "")


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    hung: str | None  # what it was doing when it ran past its timeout


def run_process(cmd: list[str], env: dict[str, str], timeout: float, *, phone: Any = None) -> Run:
    """One test's process, in the suite's folder, stopped (and reported) if it hangs.

    stdin stays open for the whole test, as when the suite is run from a terminal: tools such
    as `adb raw` stop at end of input. Output goes to files, not pipes: the runner waits for
    the test's process, never for whatever else inherited its stdout or stderr. The process
    has a session of its own, so that what it starts (adb clients, even in process groups of
    their own) can be found and stopped; PYTHONFAULTHANDLER: on SIGABRT it prints where it is.
    """
    stdin_r, stdin_w = os.pipe()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                cmd,
                env={**env, "PYTHONFAULTHANDLER": "1"},
                cwd=VENDOR,
                stdin=stdin_r,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            try:
                proc.wait(timeout)
                hung = None
            except subprocess.TimeoutExpired:
                hung = _stop_hung(proc, timeout, phone)
            _kill_session(proc.pid)  # what the test left running would outlive it
        finally:
            os.close(stdin_r)
            os.close(stdin_w)
        out.seek(0)
        err.seek(0)
        return Run(proc.returncode, _text(out.read()), _text(err.read()), hung)


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "replace")


def _session(sid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live processes of session `sid` but its leader (Linux /proc)."""
    found = []
    for d in Path("/proc").glob("[0-9]*"):
        try:
            stat = (d / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[3]) != sid or int(d.name) == sid or fields[0] == "Z":
                continue
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except (OSError, ValueError, IndexError):
            continue
        found.append((int(d.name), cmd))
    return sorted(found)


def _signal_state(pid: int) -> str:
    """A process's run state and signal masks (/proc/PID/status): why a signal did not stop it."""
    try:
        fields = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
        )
    except OSError:
        return "gone"
    keys = ("State", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")
    return ", ".join(f"{k} {fields[k].strip()}" for k in keys if k in fields)


def _kill_session(sid: int) -> None:
    """SIGKILL what is left of a test's session; an adb server a test started stays up."""
    for pid, cmd in _session(sid):
        if "fork-server" not in cmd:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _stop_hung(proc: subprocess.Popen[bytes], timeout: float, phone: Any) -> str:
    """A test ran past its timeout: say what it was waiting for, and stop it.

    The report names the processes the test still had running (the `adb shell` it waits on
    names the service), what the phone was doing (its shell processes and open streams),
    and, in the output, the test process's Python traceback (faulthandler, on SIGABRT).
    """
    children = _session(proc.pid)
    report = [
        f"timed out after {timeout:.0f}s",
        "still running: "
        + ("; ".join(f"{pid} {cmd} ({_signal_state(pid)})" for pid, cmd in children) or "nothing else"),
    ]
    if phone is not None:
        report.append("phone: " + phone.describe())
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGABRT)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return "\n".join(report)


def _summary(output: str) -> str:
    lines = [ln for ln in output.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if re.match(r"^[\w.]*(Error|Exception|Skip\w*)\b", ln)]
    return (errors[-1] if errors else (lines[-1] if lines else ""))[:300]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-k", action="append", default=[], help="run tests whose id contains this (repeatable)")
    ap.add_argument("--timeout", type=float, default=90.0, help="seconds per test")
    ap.add_argument("--profile", default=PROFILE)
    ap.add_argument("--json", type=Path, help="write the outcomes here")
    ap.add_argument("-v", "--verbose", action="store_true", help="print why each non-passing test failed")
    args = ap.parse_args(argv)

    t0 = time.monotonic()
    with bench(args.profile) as b:
        tests = list_tests(b.env)
        if args.k:
            tests = [t for t in tests if any(k in t for k in args.k)]
        outcomes = []
        for test in tests:
            o = run_one(b, test, args.timeout)
            outcomes.append(o)
            mark = "EXPECTED " if o.status not in ("pass", "skip") and test in EXPECTED_FAILURES else ""
            print(f"{o.status:8} {o.seconds:6.1f}s {mark}{test}", flush=True)
            if args.verbose and o.detail:
                print(f"           {o.detail}", flush=True)
    passed = [o for o in outcomes if o.status in ("pass", "skip")]
    bad = [o for o in outcomes if o.status not in ("pass", "skip", "not-run")]
    unexpected = [o for o in bad if o.test not in EXPECTED_FAILURES]
    print(
        f"\n{len(passed)}/{len(outcomes)} passed or skipped, {len(bad)} failed "
        f"({len(bad) - len(unexpected)} expected), {sum(o.status == 'not-run' for o in outcomes)} not run, "
        f"in {time.monotonic() - t0:.0f}s"
    )
    for o in unexpected:
        print(f"UNEXPECTED {o.status}: {o.test}: {o.detail}")
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=1))
    return 1 if unexpected else 0


if __name__ == "__main__":
    raise SystemExit(main())
