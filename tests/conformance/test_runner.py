"""The conformance runner's handling of a test that hangs: a report of what was still
running and where the test was blocked, and nothing it started left behind."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.conformance import runner
from tests.stack import python_m

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="the runner reads the process table from /proc"
)

# A "test" that starts an adb-like client in a process group of its own (as the suite's
# shell_popen does), says so, then blocks.
_HANGS = """
import os, subprocess, sys, time
child = subprocess.Popen(["sleep", "120"], preexec_fn=os.setpgrp)
print("client", child.pid, flush=True)
print("blocked now", file=sys.stderr, flush=True)
def wait_for_the_phone():
    time.sleep(120)
wait_for_the_phone()
"""


def _gone(pid: int, timeout: float = 30) -> bool:
    """pid has ended (a zombie waiting for init to reap it counts as ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return True
        if stat[stat.rindex(")") + 2] == "Z":
            return True
        time.sleep(0.05)
    return False


def test_a_hung_test_is_reported_with_its_traceback_and_stopped_with_all_it_started() -> None:
    run = runner.run_process([sys.executable, "-c", _HANGS], dict(os.environ), timeout=3)

    assert run.hung is not None
    client = int(run.stdout.split()[1])
    assert run.hung.startswith("timed out after 3s")
    assert f"{client} sleep 120" in run.hung  # what the test was waiting on
    assert "SigBlk" in run.hung and "State" in run.hung  # and why a signal did not stop it
    assert "blocked now" in run.stderr
    assert "wait_for_the_phone" in run.stderr  # faulthandler: where it was blocked
    assert _gone(client)


def test_a_test_is_not_held_up_by_a_process_it_leaves_behind() -> None:
    # The old runner read pipes to their end: a leftover holding stderr made a passing test
    # a timeout. Now the test's own exit ends it, and the leftover is stopped.
    leaves = "import subprocess; print(subprocess.Popen(['sleep', '120']).pid); print('ok')"
    start = time.monotonic()
    run = runner.run_process([sys.executable, "-c", leaves], dict(os.environ), timeout=60)
    assert run.hung is None and run.returncode == 0
    assert time.monotonic() - start < 30
    leftover = int(run.stdout.split()[0])
    assert _gone(leftover)


_CHILD_SIGNALS = """
import subprocess, unittest

class ChildSignals(unittest.TestCase):
    def test_a_child_can_be_interrupted(self):
        child = subprocess.Popen(["sleep", "30"])
        with open(f"/proc/{child.pid}/status") as fh:
            ignored = int(next(ln for ln in fh if ln.startswith("SigIgn")).split()[1], 16)
        child.kill()
        child.wait()
        self.assertEqual(ignored & 0b110, 0, f"SIGINT/SIGQUIT ignored: SigIgn {ignored:#x}")
"""


def test_a_suite_started_with_ctrl_c_ignored_still_gives_it_to_what_it_starts(tmp_path: Path) -> None:
    """As from a backgrounded shell (CI), where SIGINT arrives ignored: ShellTest.test_sighup
    interrupts its adb client with it, and hung until its timeout while the client ignored it."""
    (tmp_path / "child_signals.py").write_text(_CHILD_SIGNALS)
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    cmd = python_m("unittest", "-v", "child_signals")
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # what a `cmd &` in a script starts with
    try:
        run = runner.run_process(cmd, env, timeout=60)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert run.returncode == 0, run.stderr
