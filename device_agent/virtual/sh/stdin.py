"""A command's standard input: bytes known up front, or a stream from the host read on demand.

Why lazy: `adb shell cat` with a pipe, `adb exec-in 'cat > f'` and `read` must see what the
host sends while the command runs (a command may print before its input ends), so stdin is
pulled chunk by chunk from the ADB stream rather than collected first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

Source = Callable[[], Awaitable[bytes | None]]


class Stdin:
    def __init__(self, data: bytes = b"", source: Source | None = None, *, tty: bool = False) -> None:
        self._buf = bytearray(data)
        self._source = source
        self.eof = source is None
        self.tty = tty

    async def _fill(self) -> bool:
        """One more chunk into the buffer; False at end of input."""
        while not self.eof and self._source is not None:
            chunk = await self._source()
            if chunk is None:
                self.eof = True
                return False
            if chunk:
                self._buf += chunk
                return True
        return False

    async def read(self) -> bytes | None:
        """The next chunk (whatever is buffered), None at end of input."""
        if not self._buf and not await self._fill():
            return None
        data = bytes(self._buf)
        self._buf.clear()
        return data

    async def read_all(self) -> bytes:
        while await self._fill():
            pass
        data = bytes(self._buf)
        self._buf.clear()
        return data

    async def readline(self) -> bytes | None:
        """One line with its newline (the last may lack it), None at end of input."""
        while b"\n" not in self._buf:
            if not await self._fill():
                break
        if not self._buf:
            return None
        i = self._buf.find(b"\n")
        n = len(self._buf) if i < 0 else i + 1
        line = bytes(self._buf[:n])
        del self._buf[:n]
        return line
