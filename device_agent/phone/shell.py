"""Shell on a phone through adb, with exit codes and a deadline.

Commands are built only from whitelisted words and `shlex.quote`d values (`quote_cmd`);
nothing a user typed is ever pasted into a phone's shell.

Output is read as it streams and kept as a head and a tail (`KEEP_BYTES` each, the size
noted): a phone printing 300 MB once grew a worker by 570 MB, and adbutils' own readers
keep everything (and copy their buffer on every read).
"""

from __future__ import annotations

import shlex
import socket
import struct
from dataclasses import dataclass

import adbutils
from adbutils import AdbDevice

from contracts.output import BoundedBuffer

KEEP_BYTES = 1 << 20  # of a command's output, from each end

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
        buf = BoundedBuffer(KEEP_BYTES)
        code = 255
        while True:
            header = _recv_exact(sock, 5)
            length = int.from_bytes(header[1:5], "little")
            if header[0] == 3:  # exit code
                data = _recv_exact(sock, length) if length else b""
                code = data[0] if data else 255
                break
            while length:  # read in bounded pieces: a packet's length comes from the phone
                data = _recv_exact(sock, min(length, 1 << 16))
                length -= len(data)
                if header[0] in (1, 2):  # stdout, stderr
                    buf.write(data)
        return ShellResult(buf.text(), code)
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
    except (adbutils.AdbTimeout, TimeoutError) as exc:
        raise CommandTimeout(f"command did not finish within {timeout:.0f} s") from exc
    except TRANSPORT_ERRORS as exc:
        _FEATURES.pop(str(device.serial), None)  # a phone that comes back may have changed
        raise DeviceLost(f"lost the phone {device.serial}: {exc!r}") from exc
