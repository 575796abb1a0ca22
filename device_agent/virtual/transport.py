"""The device side of the ADB transport over TCP: one asyncio server per virtual phone.

Why: with no phone on any machine, tests and demos still need the *real* adb server (and
everything built on it: adbutils, the adb CLI, the farm's device agent) to see a phone.
Speaking adbd's side of the wire protocol (AOSP protocol.txt) is the one place where a
fake can sit without any client noticing. This module does the connection layer only:
CNXN/AUTH handshake, OPEN/OKAY/WRTE/CLSE streams with adbd's flow control (one WRTE in
flight per stream until the peer's OKAY), and the transport-level faults (hang, drop after
N bytes, bandwidth cap). What a stream *does* is in services.py.

A malformed packet ends only the connection that sent it; the phone keeps serving the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import time
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import rsa

from device_agent.virtual import protocol as p
from device_agent.virtual import services

if TYPE_CHECKING:
    from device_agent.virtual.device import VirtualDevice

log = logging.getLogger(__name__)

# A stream's service may queue this much output before write() waits for the host.
_HIGH_WATER = 2 * p.MAX_PAYLOAD
_HANG_POLL_S = 0.05


class StreamClosed(ConnectionError):
    """The host closed the stream (or the connection went away)."""


class _Throttle:
    """Paces bytes to a rate that may change at any moment (Faults.bandwidth_bytes_per_s)."""

    def __init__(self) -> None:
        self._next = 0.0

    async def consume(self, n: int, rate: int | None) -> None:
        if not rate or rate <= 0:
            self._next = 0.0
            return
        now = time.monotonic()
        start = max(now, self._next)
        self._next = start + n / rate
        delay = self._next - now
        if delay > 0:
            await asyncio.sleep(delay)


class AdbStream:
    """One OPENed stream: inbound WRTE payloads are acknowledged as the service consumes them,
    outbound bytes are cut into WRTE packets of at most the negotiated max payload and sent one
    at a time, each after the host's OKAY for the previous one."""

    def __init__(self, conn: AdbConnection, local_id: int, remote_id: int, service: str) -> None:
        self.conn = conn
        self.local_id = local_id
        self.remote_id = remote_id
        self.service = service
        self._inbox: deque[bytes] = deque()
        self._inbox_event = asyncio.Event()
        self._rbuf = bytearray()
        self._eof = False
        self._out = bytearray()
        self._out_event = asyncio.Event()
        self._ready = asyncio.Event()  # may send the next WRTE
        self._ready.set()
        self._space = asyncio.Event()
        self._space.set()
        self._drained = asyncio.Event()
        self._drained.set()
        self.closed = False
        self.remote_closed = False
        self.task: asyncio.Task[None] | None = None
        # A stream the phone opened (adb reverse): resolved by the host's OKAY or CLSE.
        self.opened: asyncio.Future[bool] | None = None
        # A raw subprocess (exec:, shell without the protocol) outlives the host's CLSE: it
        # reads what was already sent, then end of input, as a process whose socket closed.
        self.lingers = False
        self._sender: asyncio.Task[None] = asyncio.create_task(self._send_loop())

    # -- called by the connection ---------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        self._inbox.append(data)
        self._inbox_event.set()

    def on_okay(self) -> None:
        self._ready.set()

    def shutdown(self, *, cancel: bool = True) -> None:
        """Stop everything about this stream (host CLSE, or connection gone); cancel=False
        leaves the service running with what it has already received."""
        self.closed = True
        self._eof = True
        self._inbox_event.set()
        self._ready.set()
        self._space.set()
        self._drained.set()
        self._out_event.set()
        self._sender.cancel()
        if self.opened is not None and not self.opened.done():
            self.opened.set_result(False)
        if cancel and self.task is not None and not self.task.done():
            self.task.cancel()

    # -- used by services -------------------------------------------------------------------------

    async def _next_chunk(self) -> bytes | None:
        while not self._inbox:
            if self._eof:
                return None
            self._inbox_event.clear()
            await self._inbox_event.wait()
        data = self._inbox.popleft()
        if not self.closed:
            await self.conn.acknowledge(self, len(data))
        return data

    async def read(self) -> bytes | None:
        if self._rbuf:
            data = bytes(self._rbuf)
            self._rbuf.clear()
            return data
        return await self._next_chunk()

    async def readexactly(self, n: int) -> bytes:
        while len(self._rbuf) < n:
            chunk = await self._next_chunk()
            if chunk is None:
                raise EOFError(f"stream ended {n - len(self._rbuf)} bytes short")
            self._rbuf += chunk
        data = bytes(self._rbuf[:n])
        del self._rbuf[:n]
        return data

    async def write(self, data: bytes) -> None:
        if self.closed:
            raise StreamClosed("stream closed by the host")
        if not data:
            return
        self._out += data
        self._drained.clear()
        self._out_event.set()
        while len(self._out) > _HIGH_WATER and not self.closed:
            self._space.clear()
            await self._space.wait()
        if self.closed:
            raise StreamClosed("stream closed by the host")

    async def drain(self) -> None:
        """Wait until every queued byte has been handed to the socket."""
        await self._drained.wait()

    async def _send_loop(self) -> None:
        while not self.closed:
            if not self._out:
                self._drained.set()
                self._space.set()
                self._out_event.clear()
                await self._out_event.wait()
                continue
            await self._ready.wait()
            if self.closed:
                break
            n = self.conn.max_payload
            chunk = bytes(self._out[:n])
            del self._out[:n]
            if len(self._out) <= _HIGH_WATER:
                self._space.set()
            self._ready.clear()
            await self.conn.send_write(self, chunk)


class AdbConnection:
    """One TCP connection from an adb server (or anything else that connects)."""

    def __init__(
        self, server: PhoneServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.device = server.device
        self.reader = reader
        self.writer = writer
        self.peer = str(writer.get_extra_info("peername"))
        self.streams: dict[int, AdbStream] = {}
        self._ids = itertools.count(1)
        self.max_payload = p.MAX_PAYLOAD
        self.online = False
        self._host_version = p.A_VERSION
        self._token = b""
        self._send_lock = asyncio.Lock()
        self._bytes = 0
        self._in_throttle = _Throttle()
        self._out_throttle = _Throttle()
        self._closing = False
        # adb reverse: phone-side spec → (host-side spec, the phone listener); they live as
        # long as this connection, as on a real phone.
        self.reverses: dict[str, tuple[str, Any]] = {}

    @property
    def _checksums(self) -> bool:
        return self._host_version < p.A_VERSION_SKIP_CHECKSUM

    # -- lifecycle ------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            while not self._closing:
                await self._wait_unhung()
                packet = await p.read_packet(
                    self.reader, max_payload=p.MAX_PAYLOAD, verify_checksum=self._checksums
                )
                await self._wait_unhung()
                await self._handle(packet)
        except p.ProtocolError as exc:
            log.warning("%s: dropping connection from %s: %s", self.device.serial, self.peer, exc)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self.abort()

    def abort(self) -> None:
        """Drop the TCP connection at once (unplug, fault, protocol error)."""
        if self._closing and not self.streams:
            return
        self._closing = True
        for spec, (_host, acceptor) in list(self.reverses.items()):
            self.device.net.unlisten(spec, acceptor)
        self.reverses.clear()
        for stream in list(self.streams.values()):
            stream.shutdown()
        self.streams.clear()
        with contextlib.suppress(Exception):
            self.writer.transport.abort()
        self.server.connections.discard(self)

    async def _wait_unhung(self) -> None:
        while self.device.faults.hang and not self._closing:
            await asyncio.sleep(_HANG_POLL_S)

    # -- sending ----------------------------------------------------------------------------------

    async def send(self, packet: p.Packet) -> None:
        await self._wait_unhung()
        if self._closing:
            raise ConnectionError("connection closed")
        async with self._send_lock:
            self.writer.write(p.encode(packet, with_checksum=self._checksums))
            await self.writer.drain()

    def _count(self, n: int) -> bool:
        """Count payload bytes; False (and the connection dropped) once the fault's budget is spent."""
        limit = self.device.faults.disconnect_after_bytes
        if limit is None:
            return True
        if self._bytes + n > limit:
            log.info("%s: fault disconnect_after_bytes=%d reached, dropping", self.device.serial, limit)
            self.abort()
            return False
        self._bytes += n
        return True

    async def send_write(self, stream: AdbStream, data: bytes) -> None:
        await self._out_throttle.consume(len(data), self.device.faults.bandwidth_bytes_per_s)
        if not self._count(len(data)):
            raise ConnectionError("fault: disconnect_after_bytes")
        await self.send(p.Packet(p.A_WRTE, stream.local_id, stream.remote_id, data))

    async def acknowledge(self, stream: AdbStream, n: int) -> None:
        """OKAY for a consumed WRTE; throttling it throttles the host's sending."""
        await self._in_throttle.consume(n, self.device.faults.bandwidth_bytes_per_s)
        if not stream.closed and not self._closing:
            with contextlib.suppress(ConnectionError):
                await self.send(p.Packet(p.A_OKAY, stream.local_id, stream.remote_id))

    # -- receiving --------------------------------------------------------------------------------

    async def _handle(self, packet: p.Packet) -> None:
        cmd = packet.command
        if cmd == p.A_CNXN:
            await self._on_cnxn(packet)
        elif cmd == p.A_AUTH:
            await self._on_auth(packet)
        elif not self.online:
            return  # adbd ignores everything else until the host is authorised
        elif cmd == p.A_OPEN:
            await self._on_open(packet)
        elif cmd == p.A_WRTE:
            stream = self.streams.get(packet.arg1)
            if stream is None or stream.remote_id != packet.arg0:
                return
            if not self._count(len(packet.data)):
                return
            stream.feed(packet.data)
        elif cmd == p.A_OKAY:
            stream = self.streams.get(packet.arg1)
            if stream is not None and stream.opened is not None and not stream.opened.done():
                stream.remote_id = packet.arg0  # the host accepted a stream the phone opened
                stream.opened.set_result(True)
            elif stream is not None and stream.remote_id == packet.arg0:
                stream.on_okay()
        elif cmd == p.A_CLSE:
            stream = self.streams.get(packet.arg1)
            pending = stream is not None and stream.opened is not None and not stream.opened.done()
            if stream is not None and (stream.remote_id == packet.arg0 or pending):
                stream.remote_closed = True
                self.streams.pop(stream.local_id, None)
                stream.shutdown(cancel=not stream.lingers)
        # SYNC and STLS: never initiated by a host towards a device that did not ask; ignore.

    async def _on_cnxn(self, packet: p.Packet) -> None:
        version, maxdata = packet.arg0, packet.arg1
        if version < p.A_VERSION_MIN:
            raise p.ProtocolError(f"host version 0x{version:08x} is too old")
        self._host_version = min(version, p.A_VERSION)
        self.max_payload = max(256, min(maxdata, p.MAX_PAYLOAD))
        for stream in list(self.streams.values()):  # a new CNXN resets the session
            stream.shutdown()
        self.streams.clear()
        if self.device.auth_required and not self.online:
            await self._send_token()
        else:
            await self._send_cnxn()

    async def _send_cnxn(self) -> None:
        self.online = True
        banner = p.device_banner(self.device.banner_props(), services.features(self.device))
        await self.send(p.Packet(p.A_CNXN, p.A_VERSION, p.MAX_PAYLOAD, banner))

    async def _send_token(self) -> None:
        self._token = os.urandom(p.TOKEN_SIZE)
        await self.send(p.Packet(p.A_AUTH, p.AUTH_TOKEN, 0, self._token))

    def _allowed_keys(self) -> list[rsa.RSAPublicKey]:
        return list(_decode_keys(self.device.allowed_keys, self.device.serial))

    async def _on_auth(self, packet: p.Packet) -> None:
        if self.online or not self.device.auth_required or not self._token:
            return
        if packet.arg0 == p.AUTH_SIGNATURE:
            for key in self._allowed_keys():
                if p.verify_auth_signature(key, self._token, packet.data):
                    log.info("%s: host %s authorised by signature", self.device.serial, self.peer)
                    await self._send_cnxn()
                    return
            await self._send_token()  # wrong key: adbd asks again with a fresh token
        elif packet.arg0 == p.AUTH_RSAPUBLICKEY:
            try:
                offered = p.decode_adb_pubkey(packet.data)
            except ValueError:
                return
            if any(p.same_key(offered, k) for k in self._allowed_keys()):
                await self._send_cnxn()
                return
            # An unknown key: a real phone would show the "Allow USB debugging?" dialog. Nobody
            # taps it, so the host stays `unauthorized`.
            log.info("%s: host %s offered an unknown key; not authorised", self.device.serial, self.peer)

    async def open_to_host(self, service: str, timeout: float = 10.0) -> AdbStream | None:
        """OPEN a stream towards the host (adb reverse: the adb server connects `service`,
        e.g. tcp:6655 on the host); None if the host refuses."""
        local_id = next(self._ids)
        stream = AdbStream(self, local_id, 0, service)
        stream.opened = asyncio.get_running_loop().create_future()
        self.streams[local_id] = stream
        await self.send(p.Packet(p.A_OPEN, local_id, 0, service.encode() + b"\0"))
        try:
            ok = await asyncio.wait_for(asyncio.shield(stream.opened), timeout)
        except TimeoutError:
            ok = False
        if not ok:
            await self.close_stream(stream)
            return None
        return stream

    async def close_stream(self, stream: AdbStream) -> None:
        """The phone's side of a stream is done: flush, CLSE, forget it."""
        if stream.closed:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(stream.drain(), 10)
        if not stream.closed and not self._closing:
            self.streams.pop(stream.local_id, None)
            stream.shutdown()
            if stream.remote_id:
                with contextlib.suppress(ConnectionError):
                    await self.send(p.Packet(p.A_CLSE, stream.local_id, stream.remote_id))

    async def _on_open(self, packet: p.Packet) -> None:
        remote_id = packet.arg0
        if remote_id == 0:
            return
        name = packet.data.rstrip(b"\0").decode("utf-8", "replace")
        handler = services.open_service(self.device, name, self)
        if handler is None:
            log.info("%s: refused unknown service %r", self.device.serial, name)
            await self.send(p.Packet(p.A_CLSE, 0, remote_id))
            return
        local_id = next(self._ids)
        stream = AdbStream(self, local_id, remote_id, name)
        self.streams[local_id] = stream
        log.info("%s: stream %d open %s", self.device.serial, local_id, name)
        await self.send(p.Packet(p.A_OKAY, local_id, remote_id))
        stream.task = asyncio.create_task(self._serve(stream, handler))
        # Let the service start (and a service that answers at once, such as framebuffer:,
        # send its first bytes) before a CLSE already queued behind this OPEN cancels it,
        # as adbd's service thread would have written into its socket by then.
        for _ in range(3):
            await asyncio.sleep(0)

    async def _serve(self, stream: AdbStream, handler: services.Service) -> None:
        try:
            await handler(stream)
            await stream.drain()
        except (StreamClosed, ConnectionError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("%s: service %r failed", self.device.serial, stream.service)
        finally:
            if not stream.closed and not self._closing:
                self.streams.pop(stream.local_id, None)
                stream.shutdown()
                with contextlib.suppress(ConnectionError):
                    await self.send(p.Packet(p.A_CLSE, stream.local_id, stream.remote_id))


def _decode_keys(keys: Iterable[bytes | str], serial: str) -> Iterable[rsa.RSAPublicKey]:
    for raw in keys:
        for line in (raw.encode() if isinstance(raw, str) else raw).splitlines():
            if not line.strip():
                continue
            try:
                yield p.decode_adb_pubkey(line)
            except ValueError as exc:
                log.warning("%s: ignoring an allowed key that is not an adb public key: %s", serial, exc)


class PhoneServer:
    """The TCP listener of one virtual phone. stop() is unplugging the cable: the listener
    and every connection go away; start() again (same port) plugs it back in."""

    def __init__(self, device: VirtualDevice, port: int = 0, host: str = "127.0.0.1") -> None:
        self.device = device
        self.host = host
        self.port = port
        self.connections: set[AdbConnection] = set()
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conn_tasks: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        if self._server is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._on_client, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        self.device.on_disconnect = self.request_disconnect
        log.info("%s: listening on %s:%d", self.device.serial, self.host, self.port)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        self.drop_connections()
        # Aborted connections end their own tasks; cancelling them would make asyncio's stream
        # callback log a spurious error on Python 3.11.
        tasks = list(self._conn_tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=2)
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)
        log.info("%s: unplugged (port %d)", self.device.serial, self.port)

    def drop_connections(self) -> None:
        for conn in list(self.connections):
            conn.abort()
        self.connections.clear()

    def request_disconnect(self) -> None:
        """VirtualDevice.on_disconnect: drop every host connection (safe from any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self.drop_connections()
        else:
            loop.call_soon_threadsafe(self.drop_connections)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._server is None:
            writer.transport.abort()
            return
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                # adb's own sockets are NODELAY; without it small packets (OKAY, a shell's exit
                # code) wait out Nagle and the peer's delayed ACK: ~20 ms per round trip.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = AdbConnection(self, reader, writer)
        self.connections.add(conn)
        task = asyncio.current_task()
        if task is not None:
            self._conn_tasks.add(task)
        try:
            await conn.run()
        except asyncio.CancelledError:
            conn.abort()
        finally:
            if task is not None:
                self._conn_tasks.discard(task)
