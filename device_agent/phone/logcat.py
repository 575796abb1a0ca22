"""The phone's own log around a failed run, kept with the run.

Why: a benchmark that dies says little on stdout ("Segmentation fault", exit 139); the
delegate's complaints, the native crash's backtrace and thermal events go to logcat. The
last lines of `logcat -d` are what a person would look at first, so a failed run stores them.
The command is fixed (no user text) and its output bounded like every phone output.
"""

from __future__ import annotations

import re

from adbutils import AdbDevice

from device_agent.phone.shell import TRANSPORT_ERRORS, CommandTimeout, DeviceLost, run

TAIL_LINES = 200
MAX_CHARS = 64 * 1024
HEADER = f"=== logcat -d (last {TAIL_LINES} lines) ==="
# lmkd (Android 10+): "lowmemorykiller: Kill 'name' (pid), uid 2000, oom_score_adj 0 to free ..."
# the in-kernel driver (older phones, when its lines reach logcat): "lowmemorykiller: Killing 'name' (pid), adj 0,"
_LMK = re.compile(r"lowmemorykiller\s*: Kill(?:ing)? '(?P<name>[^']{1,256})' \((?P<pid>\d{1,10})\)")


def tail(device: AdbDevice, timeout: float = 10.0) -> str:
    """The last lines of the phone's log, or '' when the phone cannot give them (gone, no logcat)."""
    try:
        result = run(device, f"logcat -d -v threadtime -t {TAIL_LINES}", timeout=timeout)
    except (DeviceLost, CommandTimeout):
        return ""
    except TRANSPORT_ERRORS:
        return ""
    if result.exit_code != 0 or not result.output.strip():
        return ""
    return result.output[-MAX_CHARS:]


def with_log(raw_output: str | None, log_text: str) -> str | None:
    """The run's output with the log appended under a header; unchanged when there is no log."""
    if not log_text:
        return raw_output
    return f"{raw_output or ''}\n{HEADER}\n{log_text}"


def low_memory_kill(log_text: str, program: str = "benchmark_model") -> str | None:
    """The low-memory killer's line about `program` (a process whose name starts so), or None.

    Why: a phone out of memory does not fail an allocation, its low-memory killer kills the
    process (SIGKILL: exit 137, "Killed", output cut off), which alone looks like a crash of
    the phone. The killer's line in logcat says it was memory, which the model asked for.
    """
    for line in log_text.splitlines()[-TAIL_LINES:]:
        m = _LMK.search(line[:1024])
        if m and m["name"].rsplit("/", 1)[-1].startswith(program):
            return line.strip()[:300]
    return None
