"""The phone's own log around a failed run, kept with the run.

Why: a benchmark that dies says little on stdout ("Segmentation fault", exit 139); the
delegate's complaints, the native crash's backtrace and thermal events go to logcat. The
last lines of `logcat -d` are what a person would look at first, so a failed run stores them.
The command is fixed (no user text) and its output bounded like every phone output.
"""

from __future__ import annotations

from adbutils import AdbDevice

from device_agent.phone.shell import TRANSPORT_ERRORS, CommandTimeout, DeviceLost, run

TAIL_LINES = 200
MAX_CHARS = 64 * 1024
HEADER = f"=== logcat -d (last {TAIL_LINES} lines) ==="


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
