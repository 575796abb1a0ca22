"""Sockets inside the phone: listeners on tcp:PORT / localabstract:NAME and the pipes between.

Why: `adb forward tcp:X tcp:Y` connects to a port *inside the phone* (a test server the
phone runs, `nc -l`), and `adb reverse` makes the phone listen on a port whose connections
adbd carries back to the host. The virtual phone has no network of its own and must not
use the host's: these sockets are in-memory pipes, reachable only from the phone's shell
and through the ADB transport.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class Endpoint:
    """One end of a connected pair: read what the peer wrote, write to the peer."""

    def __init__(self, rx: asyncio.Queue[bytes | None], tx: asyncio.Queue[bytes | None]) -> None:
        self._rx = rx
        self._tx = tx
        self._eof = False
        self.write_closed = False

    async def read(self) -> bytes | None:
        if self._eof:
            return None
        data = await self._rx.get()
        if data is None:
            self._eof = True
        return data

    async def write(self, data: bytes) -> None:
        if self.write_closed:
            raise ConnectionResetError("socket closed")
        if data:
            await self._tx.put(bytes(data))

    def close_write(self) -> None:
        if not self.write_closed:
            self.write_closed = True
            self._tx.put_nowait(None)

    def close(self) -> None:
        self.close_write()
        self._eof = True


def pair() -> tuple[Endpoint, Endpoint]:
    a: asyncio.Queue[bytes | None] = asyncio.Queue()
    b: asyncio.Queue[bytes | None] = asyncio.Queue()
    return Endpoint(a, b), Endpoint(b, a)


# A listener is called with the accepting end of each new connection.
Acceptor = Callable[[Endpoint], Awaitable[None] | None]


class PhoneNet:
    """The phone's socket namespace: spec ("tcp:12345", "localabstract:foo") → listener."""

    def __init__(self) -> None:
        self.listeners: dict[str, Acceptor] = {}

    @staticmethod
    def normalise(spec: str) -> str:
        kind, _, rest = spec.partition(":")
        if kind == "tcp":  # tcp:HOST:PORT or tcp:PORT: the phone only has itself
            rest = rest.rsplit(":", 1)[-1]
        return f"{kind}:{rest}"

    def listen(self, spec: str, acceptor: Acceptor) -> bool:
        key = self.normalise(spec)
        if key in self.listeners:
            return False
        self.listeners[key] = acceptor
        return True

    def unlisten(self, spec: str, acceptor: Acceptor | None = None) -> None:
        key = self.normalise(spec)
        if acceptor is None or self.listeners.get(key) is acceptor:
            self.listeners.pop(key, None)

    def connect(self, spec: str) -> Endpoint | None:
        """A new connection to spec, or None (connection refused)."""
        acceptor = self.listeners.get(self.normalise(spec))
        if acceptor is None:
            return None
        mine, theirs = pair()
        result = acceptor(theirs)
        if asyncio.iscoroutine(result):
            asyncio.get_running_loop().create_task(result)
        return mine


async def splice(
    read: Callable[[], Awaitable[bytes | None]], write: Callable[[bytes], Awaitable[None]]
) -> None:
    """Copy chunks until end of input."""
    while (chunk := await read()) is not None:
        await write(chunk)
