"""Shell on a phone through adb, with exit codes and a deadline.

Commands are built only from whitelisted words and `shlex.quote`d values (`quote_cmd`);
nothing a user typed is ever pasted into a phone's shell.
"""

from __future__ import annotations

import shlex
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


def run(device: AdbDevice, command: str, timeout: float = 30.0) -> ShellResult:
    """Run via shell v2 when the phone has it (real exit codes), else legacy shell + `echo $?`."""
    try:
        if not device._features:  # adbutils caches the features on the device object
            device.get_features()
        if "shell_v2" in device._features:
            ret = device.shell2(command, timeout=timeout, v2=True)
            return ShellResult(str(ret.output), int(ret.returncode))
        marker = "__PHONEFARM_EXIT__"
        text = str(device.shell(f"{command}; echo {marker}$?", timeout=timeout))
        body, _, code = text.rpartition(marker)
        return ShellResult(body, int(code.strip() or 1))
    except adbutils.AdbTimeout as exc:
        raise CommandTimeout(f"command did not finish within {timeout:.0f} s") from exc
    except TRANSPORT_ERRORS as exc:
        raise DeviceLost(f"lost the phone {device.serial}: {exc!r}") from exc
