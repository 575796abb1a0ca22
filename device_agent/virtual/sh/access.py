"""File permissions as the phone's `shell` user meets them, whatever user runs the farm."""

from __future__ import annotations

import errno
from pathlib import Path


def check_access(host: Path, want: str, *, shell_owned: bool = False) -> None:
    """File modes as the phone's `shell` user (uid 2000, not the file's owner) meets them.

    The sandbox belongs to whoever runs the farm (often root, who may read anything), so
    the mode bits are checked here: the "other" bits decide, as for a real non-root shell."""
    try:
        mode = host.stat().st_mode
    except OSError:
        return  # let the caller's own open report it
    bit = {"r": 0o004, "w": 0o002, "x": 0o001}[want]
    # Files in the shell user's own areas are owned by it: the owner bits apply there.
    if not mode & (bit << 6 if shell_owned else bit):
        raise PermissionError(errno.EACCES, "Permission denied", str(host))
