"""Shell on a phone through adb, with exit codes and a deadline.

Commands are built only from whitelisted words and `shlex.quote`d values (`quote_cmd`);
nothing a user typed is ever pasted into a phone's shell.
"""

from __future__ import annotations

import shlex
import socket
import struct
from dataclasses import dataclass

import adbutils
from adbutils import AdbDevice

TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    adbutils.AdbError,
    OSError,  # ConnectionResetError, BrokenPipeError, …
    EOFError,  # the stream ended mid-answer (adbutils' sync reads)
    struct.error,  # a short header from adbutils' sync protocol: the phone went away mid-frame
)
"""What a phone vanishing mid-command looks like from adbutils (not only AdbError)."""


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


_FEATURES: dict[str, frozenset[str]] = {}
"""adb features per phone serial, asked once (adbutils asks again for every new AdbDevice)."""


def _features(device: AdbDevice) -> frozenset[str]:
    key = str(device.serial)
    if key not in _FEATURES:
        _FEATURES[key] = frozenset(device.get_features().split(","))
    return _FEATURES[key]


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if k == 0:
            raise EOFError(f"the phone's stream ended after {got} of {n} bytes")
        got += k
    return bytes(buf)


def _shell_v2(device: AdbDevice, command: str, timeout: float) -> ShellResult:
    """shell,v2 on one connection to the adb server, closed at once.

    adbutils' shell2 opens a second connection per command (server version), sleeps 10 ms
    on close and copies its buffer on each read; this is the same protocol without those.
    """
    conn = device._client.make_connection(timeout=timeout)
    sock = conn.conn
    try:
        conn.send_command(f"host:transport:{device.serial}")
        conn.check_okay()
        conn.send_command(f"shell,v2:{command}")
        conn.check_okay()
        out = bytearray()
        code = 255
        while True:
            header = _recv_exact(sock, 5)
            length = int.from_bytes(header[1:5], "little")
            data = _recv_exact(sock, length) if length else b""
            if header[0] in (1, 2):  # stdout, stderr
                out += data
            elif header[0] == 3:  # exit code
                code = data[0] if data else 255
                break
        return ShellResult(out.decode("utf-8", errors="replace"), code)
    except TimeoutError as exc:
        raise adbutils.AdbTimeout("shell read timeout") from exc
    finally:
        sock.close()


def run(device: AdbDevice, command: str, timeout: float = 30.0) -> ShellResult:
    """Run via shell v2 when the phone has it (real exit codes), else legacy shell + `echo $?`."""
    try:
        if "shell_v2" in _features(device):
            return _shell_v2(device, command, timeout)
        marker = "__PHONEFARM_EXIT__"
        text = str(device.shell(f"{command}; echo {marker}$?", timeout=timeout))
        body, _, code = text.rpartition(marker)
        return ShellResult(body, int(code.strip() or 1))
    except adbutils.AdbTimeout as exc:
        raise CommandTimeout(f"command did not finish within {timeout:.0f} s") from exc
    except TRANSPORT_ERRORS as exc:
        _FEATURES.pop(str(device.serial), None)  # a phone that comes back may have changed
        raise DeviceLost(f"lost the phone {device.serial}: {exc!r}") from exc
