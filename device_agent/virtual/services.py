# One file (over 600 lines): adbd's services share one stream's framing (shell v2 packets, sync) and one service-name dispatch.
"""adbd's services (`shell:`, `shell,v2,…:`, `exec:`, `sync:`, `reboot:`) over one ADB stream.

Why: the transport only moves bytes between the adb server and a stream; what a real
phone *does* with those bytes is defined by adbd's services. This module implements the
wire formats of those services (the shell protocol of shell_protocol.h, the sync protocol
of file_sync_protocol.h) on top of the VirtualDevice contract, so that the stock adb CLI
and adbutils work against the virtual phone unchanged.

Safety: phone input never reaches a host shell. Commands go to `device.shell()` (the
device's own small interpreter) and every sync path goes through `device.resolve()`, which
confines it to the phone's sandbox directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat as stat_mod
import struct
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from device_agent.virtual import sync_codecs
from device_agent.virtual.sh.stdin import Stdin

if TYPE_CHECKING:
    from device_agent.virtual.device import VirtualDevice

log = logging.getLogger(__name__)

# Features advertised in the CNXN banner by every profile (what the farm's code paths need).
FEATURES: tuple[str, ...] = (
    "shell_v2",
    "cmd",
    "stat_v2",
    "ls_v2",
    "fixed_push_mkdir",
    "fixed_push_symlink_timestamp",
    "sendrecv_v2",
)


# Added by Android release, as adbd of that release advertises them (SDK level → features).
_FEATURES_SINCE: tuple[tuple[int, tuple[str, ...]], ...] = (
    (29, ("abb", "apex", "remount_shell", "push_sync")),
    (30, ("abb_exec", "sendrecv_v2_brotli")),
    (31, ("sendrecv_v2_lz4", "sendrecv_v2_zstd", "sendrecv_v2_dry_run_send", "track_app")),
)


def features(device: VirtualDevice) -> tuple[str, ...]:
    """The CNXN banner's features for this phone: Android 11 offers brotli, 12+ lz4 and zstd."""
    try:
        sdk = int(device.props().get("ro.build.version.sdk", "0"))
    except ValueError:
        sdk = 0
    extra = [f for since, names in _FEATURES_SINCE if sdk >= since for f in names]
    return FEATURES + tuple(extra)


class StreamIO(Protocol):
    """What a service needs from an ADB stream (implemented by transport.AdbStream)."""

    async def read(self) -> bytes | None:
        """Next chunk from the host, None at end of stream."""
        ...

    async def readexactly(self, n: int) -> bytes:
        """Exactly n bytes; raises EOFError if the stream ends first."""
        ...

    async def write(self, data: bytes) -> None:
        """Queue bytes to the host (flow-controlled)."""
        ...


Service = Callable[[StreamIO], Awaitable[None]]


class HostLink(Protocol):
    """What `reverse:` needs from the transport: streams the phone opens towards the host."""

    reverses: dict[str, tuple[str, Any]]

    async def open_to_host(self, service: str, timeout: float = 10.0) -> Any: ...

    async def close_stream(self, stream: Any) -> None: ...


_SOCKET_KINDS = ("tcp:", "localabstract:", "localreserved:", "localfilesystem:", "local:")


def open_service(device: VirtualDevice, name: str, link: HostLink | None = None) -> Service | None:
    """Map an OPEN's service string to a handler, or None (the transport answers CLSE)."""
    name = name.rstrip("\0")
    if name.startswith(_SOCKET_KINDS):
        # adb forward to a socket inside the phone: refused (CLSE) when nothing listens there
        spec = "localabstract:" + name[len("local:") :] if name.startswith("local:") else name
        if device.net.normalise(spec) not in device.net.listeners:
            return None
        return lambda s: socket_service(device, spec, s)
    if name.startswith("reverse:") and link is not None:
        return lambda s: reverse_service(device, link, name[len("reverse:") :], s)
    if name == "framebuffer:":
        return framebuffer_service
    if name.startswith(("abb:", "abb_exec:")):
        head, _, rest = name.partition(":")
        argv = [a for a in rest.split("\0")]
        if argv == [""]:
            argv = []
        command = " ".join(["cmd", *(_quote(a) for a in argv)])
        if head == "abb":
            return lambda s: shell_v2_service(device, command, s, pty=False, squash=True)
        return lambda s: exec_service(device, command, s)
    if name.startswith("shell"):
        head, sep, command = name.partition(":")
        if not sep:
            return None
        args = head.split(",")
        if args[0] != "shell":
            return None
        v2 = "v2" in args[1:]
        if "pty" in args[1:]:
            pty = True
        elif "raw" in args[1:]:
            pty = False
        else:
            pty = command == ""
        if v2:
            return lambda s: shell_v2_service(device, command, s, pty=pty)
        return lambda s: legacy_shell_service(device, command, s, pty=pty)
    if name.startswith("exec:"):
        command = name[len("exec:") :]
        return lambda s: exec_service(device, command, s)
    if name == "sync:":
        return lambda s: sync_service(device, s)
    if name.startswith("reboot:") or name == "reboot":
        return _close_service
    return None


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


async def framebuffer_service(stream: StreamIO) -> None:
    """`framebuffer:`: a header (v2) then the pixels, and the stream ends."""
    from device_agent.virtual.sh.framebuffer import framebuffer_service_bytes

    await stream.write(framebuffer_service_bytes())


async def socket_service(device: VirtualDevice, spec: str, stream: StreamIO) -> None:
    """A host connection forwarded to a socket inside the phone: bytes both ways until
    either side ends (the host's close ends our writing; the phone side's end closes it)."""
    from device_agent.virtual.phone_net import splice

    end = device.net.connect(spec)
    if end is None:
        return
    up = asyncio.create_task(splice(stream.read, end.write))
    up.add_done_callback(lambda _t: end.close_write())
    try:
        await splice(end.read, stream.write)
    finally:
        up.cancel()
        end.close()


async def reverse_service(device: VirtualDevice, link: HostLink, command: str, stream: StreamIO) -> None:
    """`reverse:forward:[norebind:]DEV;HOST`, `reverse:killforward:DEV`, `killforward-all`,
    `list-forward`: the phone listens on DEV; each connection is carried to HOST on the host.
    Replies as adbd's handle_forward_request: OKAY [+ length-prefixed text] or FAIL + reason."""

    async def okay(text: str | None = None) -> None:
        body = b"" if text is None else f"{len(text.encode()):04x}".encode() + text.encode()
        await stream.write(b"OKAY" + body)

    async def fail(reason: str) -> None:
        data = reason.encode()
        await stream.write(b"FAIL" + f"{len(data):04x}".encode() + data)

    if command == "list-forward":  # no status first: the listing is the whole answer
        text = "".join(f"(reverse) {dev} {host}\n" for dev, (host, _a) in link.reverses.items()).encode()
        await stream.write(f"{len(text):04x}".encode() + text)
        return
    if command == "killforward-all":
        for dev, (_host, acceptor) in list(link.reverses.items()):
            device.net.unlisten(dev, acceptor)
        link.reverses.clear()
        await okay()
        return
    if command.startswith("killforward:"):
        dev = command[len("killforward:") :]
        entry = link.reverses.pop(dev, None)
        if entry is None:
            await fail(f"listener '{dev}' not found")
            return
        device.net.unlisten(dev, entry[1])
        await okay()
        return
    if not command.startswith("forward:"):
        await fail(f"unknown reverse command '{command}'")
        return
    rest = command[len("forward:") :]
    norebind = rest.startswith("norebind:")
    rest = rest.removeprefix("norebind:")
    dev, sep, host = rest.partition(";")
    if not sep or not dev.startswith(_SOCKET_KINDS) or not host.startswith(_SOCKET_KINDS):
        await fail(f"bad forward: {rest}")
        return
    resolved = None
    if dev == "tcp:0":
        port = 20000
        while device.net.normalise(f"tcp:{port}") in device.net.listeners:
            port += 1
        dev, resolved = f"tcp:{port}", port
    if dev in link.reverses:
        if norebind:
            await fail("cannot rebind existing socket")
            return
        device.net.unlisten(dev, link.reverses.pop(dev)[1])
    elif device.net.normalise(dev) in device.net.listeners:
        await fail("cannot bind listener: Address already in use")
        return

    async def carry(end: Any, host_spec: str = host) -> None:
        from device_agent.virtual.phone_net import splice

        up = await link.open_to_host(host_spec)
        if up is None:
            end.close()
            return
        # Either side ending ends the connection: an ADB stream cannot be half-closed.
        to_host = asyncio.create_task(splice(end.read, up.write))
        from_host = asyncio.create_task(splice(up.read, end.write))
        try:
            await asyncio.wait({to_host, from_host}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (to_host, from_host):
                t.cancel()
            end.close()
            await link.close_stream(up)

    device.net.listen(dev, carry)
    link.reverses[dev] = (host, carry)
    await okay(None if resolved is None else str(resolved))


async def _close_service(_stream: StreamIO) -> None:
    """`reboot:` and friends: a virtual phone simply ends the stream."""


# -- shell -------------------------------------------------------------------------------------

# shell_protocol.h packet ids
SHELL_STDIN = 0
SHELL_STDOUT = 1
SHELL_STDERR = 2
SHELL_EXIT = 3
SHELL_CLOSE_STDIN = 4
SHELL_WINDOW_SIZE = 5

_SHELL_HEADER = struct.Struct("<BI")


def shell_packet(kind: int, data: bytes) -> bytes:
    return _SHELL_HEADER.pack(kind, len(data)) + data


def _prompt(device: VirtualDevice) -> bytes:
    name = device.banner_props().get("ro.product.device", "phone")
    return f"{name}:/ $ ".encode()


async def _run(
    device: VirtualDevice,
    command: str,
    stdout: Callable[[bytes], Awaitable[None]],
    stderr: Callable[[bytes], Awaitable[None]],
    pty: bool,
    stdin: Stdin | None = None,
) -> int:
    """device.shell, with a bug in the device turned into exit 255 rather than a dead stream."""
    try:
        return await device.shell(command, stdout, stderr, pty=pty, stdin=stdin)
    except asyncio.CancelledError:
        raise
    except ConnectionError:  # the host went away while the command wrote: SIGPIPE
        return 141
    except Exception as exc:  # the phone's own failure, reported like a crashed shell
        log.exception("%s: shell command failed inside the virtual device", device.serial)
        with contextlib.suppress(Exception):
            await stderr(f"sh: internal error: {exc}\n".encode())
        return 255


async def _interactive(
    device: VirtualDevice,
    stdin: Callable[[], Awaitable[bytes | None]],
    out: Callable[[bytes], Awaitable[None]],
    err: Callable[[bytes], Awaitable[None]],
    *,
    pty: bool,
) -> int:
    """`adb shell` with no command: one sh reading commands from stdin, a line at a time.

    With a pty it behaves like a terminal (prompt, echo of what is typed); without one
    (`echo cmd | adb shell`) it just runs the lines, as sh does when stdin is not a tty.
    Variables, the working directory and `$?` carry from line to line; `exit N` ends the
    session with N (`exit 17; exit` too: the first exit wins).
    """
    from device_agent.virtual.shell import ExitShell, Shell

    sh = Shell(device, out, err, pty=pty)
    buf = bytearray()
    code = 0
    if pty:
        await out(_prompt(device))
    try:
        while True:
            chunk = await stdin()
            if chunk is None:
                return code
            if pty:
                await out(chunk.replace(b"\r", b"\r\n"))
                chunk = chunk.replace(b"\r", b"\n")
            buf += chunk
            while b"\n" in buf:
                line, _, rest = bytes(buf).partition(b"\n")
                buf = bytearray(rest)
                text = line.decode("utf-8", "replace").strip()
                if text:
                    try:
                        code = await sh.run_line(text)
                    except ExitShell as e:
                        return e.code
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:
                        log.exception("%s: interactive shell line failed", device.serial)
                        await err(f"sh: internal error: {exc}\n".encode())
                        code = 255
                if pty:
                    await out(_prompt(device))
            if b"\x04" in buf:  # Ctrl-D
                return code
    finally:
        sh.finish()


async def legacy_shell_service(device: VirtualDevice, command: str, stream: StreamIO, *, pty: bool) -> None:
    """`shell:cmd`: raw bytes, stdout and stderr mixed, no exit code; the stream closes at exit."""
    if command == "":
        await _interactive(device, stream.read, stream.write, stream.write, pty=pty)
        return

    # Without the shell protocol there is no "stdin closed": input ends when the stream does.
    setattr(stream, "lingers", True)  # noqa: B010 - transport.AdbStream's flag; absent elsewhere
    await _run(device, command, stream.write, stream.write, pty, Stdin(source=stream.read, tty=pty))


async def exec_service(device: VirtualDevice, command: str, stream: StreamIO) -> None:
    """`exec:cmd` (adb exec-in / exec-out): raw bytes both ways, no pty, no exit code; as
    adbd's raw subprocess, stdout and stderr share the one stream.

    Nothing tells the host when the command is done with its input: `adb exec-in` exits once
    its client has handed stdin to the local adb server, often before the phone has the last
    bytes. Whoever reads back what `exec-in 'cat > f'` wrote waits for the file to be whole."""
    setattr(stream, "lingers", True)  # noqa: B010 - transport.AdbStream's flag; absent elsewhere
    await _run(device, command, stream.write, stream.write, False, Stdin(source=stream.read))


async def shell_v2_service(
    device: VirtualDevice, command: str, stream: StreamIO, *, pty: bool, squash: bool = False
) -> None:
    """`shell,v2,…:cmd`: shell protocol packets (id byte + LE32 length), exit code at the end."""

    async def stdout(data: bytes) -> None:
        if data:
            await stream.write(shell_packet(SHELL_STDOUT, data))

    async def stderr(data: bytes) -> None:
        if data:
            # A pty has only one output channel.
            await stream.write(shell_packet(SHELL_STDOUT if pty else SHELL_STDERR, data))

    stdin_q: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def read_packets() -> None:
        try:
            while True:
                header = await stream.readexactly(_SHELL_HEADER.size)
                kind, length = _SHELL_HEADER.unpack(header)
                data = await stream.readexactly(length) if length else b""
                if kind == SHELL_STDIN:
                    await stdin_q.put(data)
                elif kind == SHELL_CLOSE_STDIN:
                    await stdin_q.put(None)
                # SHELL_WINDOW_SIZE and anything else: nothing to do for a virtual terminal.
        except EOFError:
            await stdin_q.put(None)

    reader = asyncio.create_task(read_packets())
    try:
        if command == "":
            code = await _interactive(device, stdin_q.get, stdout, stderr, pty=pty)
        else:
            code = await _run(device, command, stdout, stderr, pty, Stdin(source=stdin_q.get, tty=pty))
        if squash and code:  # abb reports any failure as 1
            code = 1
        await stream.write(shell_packet(SHELL_EXIT, bytes([code & 0xFF])))
    finally:
        reader.cancel()


# -- sync --------------------------------------------------------------------------------------


def _id(tag: bytes) -> int:
    return int.from_bytes(tag, "little")


ID_LSTAT_V1 = _id(b"STAT")
ID_STAT_V2 = _id(b"STA2")
ID_LSTAT_V2 = _id(b"LST2")
ID_LIST_V1 = _id(b"LIST")
ID_LIST_V2 = _id(b"LIS2")
ID_DENT_V1 = _id(b"DENT")
ID_DENT_V2 = _id(b"DNT2")
ID_SEND_V1 = _id(b"SEND")
ID_SEND_V2 = _id(b"SND2")
ID_RECV_V1 = _id(b"RECV")
ID_RECV_V2 = _id(b"RCV2")
ID_DONE = _id(b"DONE")
ID_DATA = _id(b"DATA")
ID_OKAY = _id(b"OKAY")
ID_FAIL = _id(b"FAIL")
ID_QUIT = _id(b"QUIT")

SYNC_DATA_MAX = 64 * 1024
SYNC_PATH_MAX = 1024
SYNC_FLAG_DRY_RUN = 0x80000000

_REQ = struct.Struct("<II")
_STAT_V1 = struct.Struct("<IIII")
_STAT_V2 = struct.Struct("<IIQQIIIIQqqq")
_DENT_V1 = struct.Struct("<IIIII")
_DENT_V2 = struct.Struct("<IIQQIIIIQqqqI")
_SEND_V2 = struct.Struct("<III")
_RECV_V2 = struct.Struct("<II")

# The sandbox belongs to adbd's "shell" user, as files pushed to /data/local/tmp do.
SHELL_UID = 2000


class _SyncEnd(Exception):
    """The sync session is over (QUIT, or a failure after which adbd closes the socket)."""


def _fail_msg(reason: str, exc: OSError | None = None) -> bytes:
    text = reason if exc is None else f"{reason}: {exc.strerror or exc}"
    data = text.encode("utf-8", "replace")
    return _REQ.pack(ID_FAIL, len(data)) + data


def _stat_v2(msg_id: int, st: os.stat_result | None, error: int) -> bytes:
    if st is None:
        return _STAT_V2.pack(msg_id, error, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    return _STAT_V2.pack(
        msg_id, 0, st.st_dev, st.st_ino, st.st_mode, st.st_nlink, SHELL_UID, SHELL_UID,
        st.st_size, int(st.st_atime), int(st.st_mtime), int(st.st_ctime),
    )  # fmt: skip


async def sync_service(device: VirtualDevice, stream: StreamIO) -> None:
    """`sync:`: a loop of requests (id + LE32 length + path) until QUIT or an error."""
    try:
        while True:
            try:
                header = await stream.readexactly(_REQ.size)
            except EOFError:
                return
            req_id, length = _REQ.unpack(header)
            if length > SYNC_PATH_MAX:
                await stream.write(_fail_msg("path too long"))
                return
            path = (await stream.readexactly(length)).decode("utf-8", "surrogateescape")
            await _sync_request(device, stream, req_id, path)
    except (_SyncEnd, EOFError):
        return


async def _sync_request(device: VirtualDevice, stream: StreamIO, req_id: int, path: str) -> None:
    if req_id == ID_LSTAT_V1:
        st = _lstat(device, path)
        if st is None:
            await stream.write(_STAT_V1.pack(ID_LSTAT_V1, 0, 0, 0))
        else:
            await stream.write(
                _STAT_V1.pack(ID_LSTAT_V1, st.st_mode, st.st_size & 0xFFFFFFFF, int(st.st_mtime) & 0xFFFFFFFF)
            )
    elif req_id in (ID_STAT_V2, ID_LSTAT_V2):
        try:
            local = device.resolve(path)
            st2 = os.stat(local) if req_id == ID_STAT_V2 else os.lstat(local)
            await stream.write(_stat_v2(req_id, st2, 0))
        except OSError as exc:
            await stream.write(_stat_v2(req_id, None, exc.errno or 2))
    elif req_id in (ID_LIST_V1, ID_LIST_V2):
        await _list(device, stream, path, v2=req_id == ID_LIST_V2)
    elif req_id == ID_SEND_V1:
        spec_path, comma, mode_text = path.rpartition(",")
        if not comma:
            await stream.write(_fail_msg("missing , in ID_SEND_V1"))
            raise _SyncEnd
        try:
            mode = int(mode_text, 0)
        except ValueError:
            await stream.write(_fail_msg("bad mode"))
            raise _SyncEnd from None
        await _send(device, stream, spec_path, mode, dry_run=False, codec=0)
    elif req_id == ID_SEND_V2:
        setup_id, mode, flags = _SEND_V2.unpack(await stream.readexactly(_SEND_V2.size))
        if setup_id != ID_SEND_V2:
            await stream.write(_fail_msg("bad send_v2 setup packet"))
            raise _SyncEnd
        dry_run = bool(flags & SYNC_FLAG_DRY_RUN)
        codec = flags & ~SYNC_FLAG_DRY_RUN
        if codec & ~sync_codecs.KNOWN or bin(codec).count("1") > 1:
            await stream.write(_fail_msg(f"unknown flags: {flags}"))
            raise _SyncEnd
        await _send(device, stream, path, mode, dry_run=dry_run, codec=codec)
    elif req_id in (ID_RECV_V1, ID_RECV_V2):
        flags = 0
        if req_id == ID_RECV_V2:
            setup_id, flags = _RECV_V2.unpack(await stream.readexactly(_RECV_V2.size))
            if setup_id != ID_RECV_V2 or flags & ~sync_codecs.KNOWN or bin(flags).count("1") > 1:
                await stream.write(_fail_msg(f"unknown flags: {flags}"))
                raise _SyncEnd
        await _recv(device, stream, path, codec=flags)
    elif req_id == ID_QUIT:
        raise _SyncEnd
    else:
        await stream.write(_fail_msg(f"unknown command {req_id:08x}"))
        raise _SyncEnd


def _lstat(device: VirtualDevice, path: str) -> os.stat_result | None:
    try:
        return os.lstat(device.resolve(path))
    except OSError:
        return None


async def _list(device: VirtualDevice, stream: StreamIO, path: str, *, v2: bool) -> None:
    try:
        local = device.resolve(path)
        names = [".", "..", *sorted(os.listdir(local))]
    except OSError:
        names = []
        local = None
    for name in names:
        assert local is not None
        data = name.encode("utf-8", "surrogateescape")
        try:
            st = os.lstat(os.path.join(local, name))
        except OSError as exc:
            if v2:
                await stream.write(
                    _DENT_V2.pack(ID_DENT_V2, exc.errno or 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, len(data)) + data
                )
            continue
        if v2:
            await stream.write(
                _DENT_V2.pack(
                    ID_DENT_V2,
                    0,
                    st.st_dev,
                    st.st_ino,
                    st.st_mode,
                    st.st_nlink,
                    SHELL_UID,
                    SHELL_UID,
                    st.st_size,
                    int(st.st_atime),
                    int(st.st_mtime),
                    int(st.st_ctime),
                    len(data),
                )
                + data
            )
        else:
            await stream.write(
                _DENT_V1.pack(
                    ID_DENT_V1, st.st_mode, st.st_size & 0xFFFFFFFF, int(st.st_mtime) & 0xFFFFFFFF, len(data)
                )
                + data
            )
    if v2:
        await stream.write(_DENT_V2.pack(ID_DONE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
    else:
        await stream.write(_DENT_V1.pack(ID_DONE, 0, 0, 0, 0))


async def _discard_until_done(stream: StreamIO) -> None:
    """After a FAIL adbd keeps swallowing DATA until DONE so that old clients see the error."""
    while True:
        msg_id, size = _REQ.unpack(await stream.readexactly(_REQ.size))
        if msg_id != ID_DATA or size > SYNC_DATA_MAX:
            return
        await stream.readexactly(size)


async def _send_symlink(
    device: VirtualDevice, stream: StreamIO, path: str, *, dry_run: bool, codec: int
) -> None:
    """A pushed symlink: its DATA is the link text; adbd makes the link as is. A link that
    leads out of the sandbox is harmless: resolve() refuses to follow it."""
    dec = sync_codecs.decoder(codec)
    target = bytearray()
    while True:
        msg_id, size = _REQ.unpack(await stream.readexactly(_REQ.size))
        if msg_id == ID_DONE:
            break
        if msg_id != ID_DATA or size > SYNC_DATA_MAX or len(target) > SYNC_PATH_MAX:
            await stream.write(_fail_msg("invalid data message"))
            raise _SyncEnd
        target += dec.feed(await stream.readexactly(size))
    if not dry_run:
        try:
            local = device.resolve(path, write=True)
            local.parent.mkdir(parents=True, exist_ok=True)
            if local.is_symlink() or local.exists():
                local.unlink()
            os.symlink(bytes(target).rstrip(b"\0").decode("utf-8", "surrogateescape"), local)
        except OSError as exc:
            await stream.write(_fail_msg("couldn't create symlink", exc))
            raise _SyncEnd from None
    await stream.write(_REQ.pack(ID_OKAY, 0))


async def _send(
    device: VirtualDevice, stream: StreamIO, path: str, mode: int, *, dry_run: bool, codec: int
) -> None:
    """SEND/SND2: DATA chunks then DONE(mtime); answered by OKAY or FAIL (then the session ends).
    As adbd, an existing regular file or symlink is unlinked first, whatever its mode."""
    if stat_mod.S_ISLNK(mode):
        await _send_symlink(device, stream, path, dry_run=dry_run, codec=codec)
        return
    dec = sync_codecs.decoder(codec)
    # Like adbd: copy the user permission bits to group and other; never setuid/setgid/sticky.
    perm = mode & 0o777
    perm |= (perm >> 3) & 0o070
    perm |= (perm >> 3) & 0o007
    fh = None
    local = None
    try:
        if not dry_run:
            local = device.resolve(path, write=True)  # EROFS/EACCES where a shell user can't write
            if local.is_dir():
                raise IsADirectoryError(21, "Is a directory")
            local.parent.mkdir(parents=True, exist_ok=True)  # fixed_push_mkdir
            if local.is_symlink() or local.exists():
                local.unlink()
            fh = device.quota.open(local, "wb")  # charged: ENOSPC past the phone's storage budget
    except OSError as exc:
        await stream.write(_fail_msg("couldn't create file", exc))
        await _discard_until_done(stream)
        raise _SyncEnd from None

    try:
        while True:
            msg_id, size = _REQ.unpack(await stream.readexactly(_REQ.size))
            if msg_id == ID_DONE:
                mtime = size
                break
            if msg_id != ID_DATA or size > SYNC_DATA_MAX:
                await stream.write(_fail_msg("invalid data message"))
                raise _SyncEnd
            try:
                data = dec.feed(await stream.readexactly(size))
            except Exception as exc:  # a corrupt compressed stream from the host
                await stream.write(_fail_msg(f"decompress failed: {exc}"))
                raise _SyncEnd from None
            if fh is not None:
                try:
                    fh.write(data)
                except OSError as exc:
                    await stream.write(_fail_msg("write failed", exc))
                    await _discard_until_done(stream)
                    raise _SyncEnd from None
    except BaseException:
        if fh is not None:
            fh.close()
            with contextlib.suppress(OSError):
                assert local is not None
                local.unlink()
        raise
    if fh is not None and local is not None:
        fh.close()
        try:
            os.chmod(local, perm)
            os.utime(local, (mtime, mtime))
        except OSError as exc:
            await stream.write(_fail_msg("couldn't set attributes", exc))
            raise _SyncEnd from None
    await stream.write(_REQ.pack(ID_OKAY, 0))


async def _recv(device: VirtualDevice, stream: StreamIO, path: str, *, codec: int = 0) -> None:
    """RECV/RCV2: DATA chunks of at most 64 KiB (compressed if asked) then DONE, or FAIL and
    the session ends. The shell user's read permission is checked on the file's mode."""
    from device_agent.virtual.sh.access import check_access

    try:
        phone = device.phone_path(path)
        local = device.resolve(phone)
        if not local.is_dir():
            check_access(local, "r", shell_owned=device.writable(phone))
        fh = open(local, "rb")  # noqa: SIM115 - closed below, across awaits
    except OSError as exc:
        await stream.write(_fail_msg(f"open failed: {_strerror(exc)}"))
        raise _SyncEnd from None
    enc = sync_codecs.encoder(codec)
    pending = bytearray()

    async def flush(final: bool) -> None:
        while len(pending) >= SYNC_DATA_MAX or (final and pending):
            chunk = bytes(pending[:SYNC_DATA_MAX])
            del pending[:SYNC_DATA_MAX]
            await stream.write(_REQ.pack(ID_DATA, len(chunk)) + chunk)

    with fh:
        while True:
            try:
                chunk = fh.read(SYNC_DATA_MAX)
            except OSError as exc:
                await stream.write(_fail_msg(f"read failed: {_strerror(exc)}"))
                raise _SyncEnd from None
            if not chunk:
                break
            pending += enc.feed(chunk)
            await flush(False)
    pending += enc.finish()
    await flush(True)
    await stream.write(_REQ.pack(ID_DONE, 0))


def _strerror(exc: OSError) -> str:
    return "No such file or directory" if exc.errno == 2 else (exc.strerror or str(exc))
