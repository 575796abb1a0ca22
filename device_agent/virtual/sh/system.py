"""Process and system commands: ps, kill, pidof, pkill, top, setprop, logcat, am/pm/wm/screencap.

What a non-root `shell` user sees on a production phone, answered from the phone's own
process table, log buffer and properties; nothing here reaches the host.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from device_agent.virtual.sh.api import IO, SH, CmdError, command
from device_agent.virtual.sh.procs import SIGNALS, Proc, signal_number

if TYPE_CHECKING:
    from device_agent.virtual.shell import Shell


def _ps_row(p: Proc) -> str:
    return f"{p.user:<10} {p.pid:>6} {p.ppid:>5} {p.vsz_kb:>8} {p.rss_kb:>6} {'0':<19} 0 {p.state} {p.name}\n"


PS_HEADER = "USER           PID  PPID      VSZ    RSS WCHAN            ADDR S NAME\n"


@command("ps")
async def _ps(sh: Shell, argv: list[str], io: IO) -> int:
    every = False
    pids: set[int] = set()
    names: set[str] = set()
    args = iter(argv[1:])
    for a in args:
        if a in ("-A", "-e", "-ef", "-Af"):
            every = True
        elif a == "-p":
            pids.update(int(x) for x in next(args, "").split(",") if x.isdecimal())
        elif a.isdecimal():
            pids.add(int(a))
        elif a.startswith("-"):
            if any(ch not in "AefTtwlZoOkqsu" for ch in a[1:]):
                raise CmdError(f"ps: Unknown option '{a[1:]}' (see \"ps --help\")\n")
            every = every or "A" in a or "e" in a
        else:
            names.add(a)
    procs = sh.device.procs.all()
    if pids:
        procs = [p for p in procs if p.pid in pids]
    elif names:
        procs = [p for p in procs if p.name in names]
    elif not every:  # without -A: this session's processes (this shell and what it runs)
        session = {sh.pid}
        for p in procs:
            if p.ppid in session:
                session.add(p.pid)
        procs = [p for p in procs if p.pid in session]
    await io.print(PS_HEADER + "".join(_ps_row(p) for p in procs))
    return 0 if procs else 1


def _targets(sh: Shell, names: list[str], exact: bool = True) -> list[Proc]:
    out = []
    for p in sh.device.procs.all():
        full = " ".join(p.args)
        if any(
            (p.name == n or full.split(" ")[0].rsplit("/", 1)[-1] == n) if exact else n in full for n in names
        ):
            out.append(p)
    return out


@command("pidof")
async def _pidof(sh: Shell, argv: list[str], io: IO) -> int:
    names = [a for a in argv[1:] if not a.startswith("-")]
    found = [p for p in _targets(sh, names) if p.pid != sh.pid]
    if found:
        await io.print(" ".join(str(p.pid) for p in sorted(found, key=lambda p: -p.pid)) + "\n")
    return 0 if found else 1


def _deliver(sh: Shell, pid: int, sig: int, who: str) -> str | None:
    try:
        if not sh.device.procs.kill(pid, sig):
            return f"{who}: {pid}: No such process\n"
    except PermissionError:
        return f"{who}: {pid}: Operation not permitted\n"
    return None


@command("kill")
async def _kill(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    sig = 15
    if args and args[0] == "-l":
        await io.print(" ".join(sorted(SIGNALS, key=SIGNALS.__getitem__)) + "\n")
        return 0
    if args and args[0] == "-s" and len(args) > 1:
        n = signal_number(args[1])
        if n is None:
            raise CmdError(f"kill: unknown signal '{args[1]}'\n")
        sig, args = n, args[2:]
    elif args and args[0].startswith("-") and len(args[0]) > 1:
        n = signal_number(args[0][1:])
        if n is None:
            raise CmdError(f"{SH}: kill: {args[0][1:]}: invalid signal specification\n")
        sig, args = n, args[1:]
    if not args:
        raise CmdError(
            f"{SH}: kill: usage: kill [-s signame | -signum | -signame] {{job | pid | pgrp}} ...\n", 2
        )
    status = 0
    for a in args:
        if not a.lstrip("-").isdecimal():
            await io.eprint(f"{SH}: kill: {a}: arguments must be jobs or process IDs\n")
            status = 1
            continue
        if int(a) == sh.pid and sig:  # the shell signalling itself: handled in place
            await sh.signal_self(sig, io)
            continue
        err = _deliver(sh, int(a), sig, f"{SH}: kill")
        if err:
            await io.eprint(err)
            status = 1
    return status


@command("pkill", "killall")
async def _pkill(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    sig, exact = 15, argv[0] == "killall"
    full = False  # pkill matches the process name; -f the whole command line (toybox)
    rest = []
    it = iter(args)
    for a in it:
        if a == "-f":
            exact, full = False, True
        elif a == "-x":
            exact = True
        elif a in ("-s", "--signal"):
            sig = signal_number(next(it, "")) or 15
        elif a.startswith("-") and signal_number(a[1:]) is not None:
            sig = signal_number(a[1:]) or 15
        else:
            rest.append(a)
    if not rest:
        raise CmdError(f'{argv[0]}: Needs 1 argument (see "{argv[0]} --help")\n', 2)
    found = [p for p in _targets(sh, rest, exact) if p.pid != sh.pid]
    if argv[0] == "pkill" and not exact:
        found = [p for p in found if any(re.search(n, " ".join(p.args) if full else p.name) for n in rest)]
    status = 1
    for p in found:
        if _deliver(sh, p.pid, sig, argv[0]) is None:
            status = 0
    return status


@command("top")
async def _top(sh: Shell, argv: list[str], io: IO) -> int:
    procs = sh.device.procs.all()
    cores = sh.device.profile.cores
    busy = sh.device.thermal.busy()
    head = (
        f"Tasks: {len(procs)} total,   {1 + busy} running, {len(procs) - 1 - busy} sleeping,   0 stopped,   0 zombie\n"
        f"  Mem: {sh.device.profile.mem_total_kb}K total\n"
        f"{cores * 100}%cpu {cores * 100 * busy // 2:>3}%user   0%nice   2%sys {cores * 100 - 2:>3}%idle"
        "   0%iow   0%irq   0%sirq   0%host\n"
        "  PID USER         PR  NI VIRT  RES  SHR S[%CPU] %MEM     TIME+ ARGS\n"
    )
    rows = []
    for p in sorted(procs, key=lambda p: -p.pid):
        cpu = 100.0 * cores if p.name.startswith("benchmark") and busy else 0.0
        secs = int(time.time() - p.started)
        rows.append(
            f"{p.pid:>5} {p.user:<12} 20   0 {p.vsz_kb // 1024:>3}M {p.rss_kb // 1024:>3}M   0 {p.state} "
            f"{cpu:>5.1f}   0.0 {secs // 60:>3}:{secs % 60:02d}.00 {p.name}\n"
        )
    await io.print(head + "".join(rows))
    return 0


@command("setprop")
async def _setprop(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) != 3:
        raise CmdError('setprop: Need 2 arguments (see "setprop --help")\n')
    if not sh.device.setprop(argv[1], argv[2]):
        raise CmdError(f"Failed to set property '{argv[1]}' to '{argv[2]}'.\nSee dmesg for error reason.\n")
    return 0


@command("logcat")
async def _logcat(sh: Shell, argv: list[str], io: IO) -> int:
    """logcat -d | -c | -s TAG[:PRIO]... | -v FORMAT | -t N | TAG:PRIO filters. Without -d it
    would wait for new lines; the virtual phone prints what it has and ends, as -d does."""
    style, clear, count = "threadtime", False, 0
    specs: list[str] = []
    silent_default = False
    it = iter(argv[1:])
    for a in it:
        if a == "-d" or (a == "-b" and next(it, None) is not None):
            continue
        if a == "-c":
            clear = True
        elif a == "-s":
            silent_default = True
        elif a == "-v":
            style = next(it, "threadtime")
        elif a.startswith("-v"):
            style = a[2:]
        elif a in ("-t", "-T", "-m"):
            value = next(it, "0")
            count = int(value) if value.isdecimal() else 0
        elif a.startswith("-") and len(a) > 1:
            if a[1] not in "dcsvtTmbBDf" and not a.startswith("--"):
                raise CmdError(f"logcat: Unknown option '{a}'\n")
        else:
            specs.append(a)
    if clear:
        sh.device.logs.clear()
        return 0
    levels: dict[str, str] = {}
    default = "S" if silent_default else "V"
    for spec in specs:
        tag, _, prio = spec.partition(":")
        prio = (prio or "V")[:1].upper()
        if tag == "*":
            default = prio
        else:
            levels[tag] = prio
    lines = [
        ln
        for ln in sh.device.logs.lines()
        if "VDIWEFS".index(ln.priority) >= "VDIWEFS".index(levels.get(ln.tag, default))
    ]
    if count:
        lines = lines[-count:]
    await io.print("".join(ln.format(style) + "\n" for ln in lines))
    return 0


@command("am")
async def _am(sh: Shell, argv: list[str], io: IO) -> int:
    sub = argv[1] if len(argv) > 1 else ""
    if sub in ("start", "start-activity"):
        target = argv[-1] if len(argv) > 2 else ""
        await io.print(f"Starting: Intent {{ cmp={target} }}\n")
        await io.eprint(f"Error type 3\nError: Activity class {{{target}}} does not exist.\n")
        return 1
    if sub in ("force-stop", "kill", "kill-all", "broadcast", "freeze", "unfreeze"):
        if sub == "broadcast":
            await io.print("Broadcasting: Intent { }\nBroadcast completed: result=0\n")
        return 0
    await io.print("Activity manager (activity) commands:\n  help\n  start [options] INTENT\n")
    return 0 if sub in ("", "help") else 255


@command("pm")
async def _pm(sh: Shell, argv: list[str], io: IO) -> int:
    sub = argv[1] if len(argv) > 1 else ""
    if sub == "list" and len(argv) > 2 and argv[2] == "packages":
        pkgs = ("android", "com.android.shell", "com.android.systemui", "com.android.settings")
        await io.print("".join(f"package:{p}\n" for p in pkgs))
        return 0
    if sub == "path" and len(argv) > 2:
        return 1
    if sub in ("install", "install-create"):
        await io.eprint("Error: APK content must be streamed\n")
        return 1
    await io.print("Package manager (package) commands:\n  help\n  list packages\n")
    return 0 if sub in ("", "help") else 255


@command("wm")
async def _wm(sh: Shell, argv: list[str], io: IO) -> int:
    sub = argv[1] if len(argv) > 1 else ""
    if sub == "size":
        await io.print("Physical size: 1080x2340\n")
    elif sub == "density":
        await io.print("Physical density: 440\n")
    else:
        await io.print("Window manager (window) commands:\n  help\n  size\n  density\n")
    return 0


@command("screencap")
async def _screencap(sh: Shell, argv: list[str], io: IO) -> int:
    from device_agent.virtual.sh.framebuffer import png, raw

    files = [a for a in argv[1:] if not a.startswith("-")]
    data = png() if "-p" in argv or (files and files[0].endswith(".png")) else raw()
    if files:
        try:
            host = sh.device.resolve(files[0], cwd=sh.cwd, write=True)
            sh.device.quota.charge(len(data))
            host.write_bytes(data)
        except OSError as exc:
            raise CmdError(f"Error opening file: {files[0]} ({exc.strerror})\n") from None
    else:
        await io.out(data)
    return 0


@command("nc", "netcat")
async def _nc(sh: Shell, argv: list[str], io: IO) -> int:
    """toybox nc, inside the phone only: `nc -l [-p] PORT` serves one connection,
    `nc HOST PORT` connects to a listener in the phone (an `adb reverse` port included).
    stdin goes to the peer, what the peer sends goes to stdout, until the peer closes."""
    import asyncio

    from device_agent.virtual.phone_net import Endpoint

    listen, port, host, wait = False, None, None, None
    rest = []
    it = iter(argv[1:])
    for a in it:
        if a in ("-l", "-L"):
            listen = True
        elif a == "-p":
            port = next(it, None)
        elif a in ("-w", "-W", "-q", "-s"):
            value = next(it, "0")
            if a == "-w":
                wait = float(value) if value.replace(".", "", 1).isdecimal() else None
        elif a.startswith("-") and len(a) > 1:
            if "l" in a[1:]:
                listen = True
        else:
            rest.append(a)
    if listen:
        port = port or (rest[-1] if rest else None)
    else:
        host, port = ([*rest, None, None])[:2] if len(rest) >= 2 else (None, None)
    if port is None or not str(port).isdecimal() or not 0 < int(port) < 65536:
        raise CmdError('nc: Needs a port (see "nc --help")\n')
    spec = f"tcp:{port}"
    if listen:
        accepted: asyncio.Future[Endpoint] = asyncio.get_running_loop().create_future()

        def accept(end: Endpoint) -> None:
            if accepted.done():
                end.close()  # one connection, as nc -l serves
            else:
                accepted.set_result(end)

        if not sh.device.net.listen(spec, accept):
            raise CmdError("nc: bind: Address already in use\n")
        try:
            end = await accepted
        finally:
            sh.device.net.unlisten(spec, accept)
    else:
        if host not in ("localhost", "127.0.0.1", "::1", "0", "0.0.0.0"):
            raise CmdError(f"nc: connect {host}:{port}: Network is unreachable\n")
        maybe = sh.device.net.connect(spec)
        if maybe is None:
            raise CmdError(f"nc: connect {host}:{port}: Connection refused\n")
        end = maybe

    async def send_stdin() -> None:
        while (chunk := await io.stdin.read()) is not None:
            await end.write(chunk)

    sender = asyncio.create_task(send_stdin())
    try:
        while True:
            chunk = await (asyncio.wait_for(end.read(), wait) if wait else end.read())
            if chunk is None:
                break
            await io.out(chunk)
    except TimeoutError:
        pass
    finally:
        sender.cancel()
        end.close()
    return 0
