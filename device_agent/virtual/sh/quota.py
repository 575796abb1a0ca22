"""The phone's storage budget: writes past it fail with ENOSPC, as on a full phone.

Why: a doubling loop in the virtual phone's shell (`cat f f > g; mv g f`), a big `dd` or an
`adb push` would otherwise fill the disk of the host that runs the virtual phones. Every
write into the sandbox is charged here first (shell redirections, dd, cp, tee, sed -i, sync
SEND), so the accounting lives in one place.

Cheap by design: a cached byte count only grows with writes; deletions and truncations are
not tracked, so the cache over-estimates and is recounted (one walk of the sandbox) only when
a write would cross the budget. A write is refused only if the fresh count confirms it.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

ENOSPC_TEXT = "No space left on device"


class DiskQuota:
    """Bytes used under a sandbox root against a budget."""

    def __init__(self, root: Path, limit_bytes: int) -> None:
        self.root = root
        self.limit = limit_bytes
        self.used = self.recount()

    def recount(self) -> int:
        """The bytes of every regular file under the root (symlinks not followed)."""
        total = 0
        stack = [str(self.root)]
        while stack:
            try:
                entries = list(os.scandir(stack.pop()))
            except OSError:
                continue
            for e in entries:
                try:
                    if e.is_dir(follow_symlinks=False):
                        stack.append(e.path)
                    elif e.is_file(follow_symlinks=False):
                        total += e.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
        self.used = total
        return total

    def charge(self, n: int) -> None:
        """Account n more bytes, or raise OSError(ENOSPC) if they do not fit."""
        if n <= 0:
            return
        if self.used + n > self.limit and self.recount() + n > self.limit:
            raise OSError(errno.ENOSPC, ENOSPC_TEXT)
        self.used += n

    def open(self, path: Path | str, mode: str) -> QuotaFile:
        """A binary file opened for writing whose writes are charged to this budget."""
        return QuotaFile(open(path, mode), self)


class QuotaFile:
    """A binary write handle that charges each write before making it."""

    def __init__(self, fh: Any, quota: DiskQuota) -> None:
        self._fh = fh
        self._quota = quota

    def write(self, data: bytes) -> int:
        self._quota.charge(len(data))
        return int(self._fh.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)

    def __enter__(self) -> QuotaFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()
