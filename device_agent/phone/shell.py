"""Shell on a phone through adb, with exit codes and a deadline.

Commands are built only from whitelisted words and `shlex.quote`d values (`quote_cmd`);
nothing a user typed is ever pasted into a phone's shell.

Output is read as it streams and kept as a head and a tail (`KEEP_BYTES` each, the size
noted): a phone printing 300 MB once grew a worker by 570 MB, and adbutils' own readers
keep everything (and copy their buffer on every read).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

import adbutils
from adbutils import AdbDevice

from contracts.output import BoundedBuffer

KEEP_BYTES = 1 << 20  # of a command's output, from each end


class DeviceLost(RuntimeError):
    """The phone went away (unplugged, adb connection dropped, host gone)."""


class CommandTimeout(RuntimeError):
    """The command outlived its deadline; closing the stream ended it on the phone."""


@dataclass(frozen=True)
class ShellResult:
    output: str
    exit_code: int


def quote_cmd(*words: str) -> str:
    return " ".join(shlex.quote(w) for w in words)


def run(device: AdbDevice, command: str, timeout: float = 30.0) -> ShellResult:
    """Run via shell v2 when the phone has it (real exit codes), else legacy shell + `echo $?`."""
    try:
        if not device._features:  # adbutils caches the features on the device object
            device.get_features()
        if "shell_v2" in device._features:
            return _shell_v2(device, command, timeout)
        marker = "__PHONEFARM_EXIT__"
        buf = BoundedBuffer(KEEP_BYTES)
        conn = device.shell(f"{command}; echo {marker}$?", stream=True)
        try:
            conn.conn.settimeout(timeout)
            while chunk := conn.read(1 << 16):
                buf.write(chunk)
        finally:
            conn.close()
        body, _, code = buf.text().rstrip().rpartition(marker)
        return ShellResult(body, int(code.strip()) if code.strip().isdecimal() else 1)
    except adbutils.AdbTimeout as exc:
        raise CommandTimeout(f"command did not finish within {timeout:.0f} s") from exc
    except (adbutils.AdbError, OSError, ConnectionError) as exc:
        raise DeviceLost(f"lost the phone {device.serial}: {exc}") from exc


def _shell_v2(device: AdbDevice, command: str, timeout: float) -> ShellResult:
    """adb's shell v2 protocol (packets: id 1 stdout, 2 stderr, 3 exit code), read into a
    bounded buffer instead of adbutils' unbounded ones."""
    conn = device.open_transport(timeout=timeout)
    buf = BoundedBuffer(KEEP_BYTES)
    exit_code = 255
    try:
        conn.send_command(f"shell,v2:{command}")
        conn.check_okay()
        while True:
            header = conn.read_exact(5)
            length = int.from_bytes(header[1:5], byteorder="little")
            if header[0] == 3:
                exit_code = conn.read_exact(length)[0] if length else 255
                break
            while length:
                data = conn.read_exact(min(length, 1 << 16))
                length -= len(data)
                if header[0] in (1, 2):
                    buf.write(data)
    finally:
        conn.close()
    return ShellResult(buf.text(), int(exit_code))
