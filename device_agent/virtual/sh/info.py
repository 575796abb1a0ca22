"""What the phone is and how it is doing: uname, id, whoami, nproc, sleep, taskset, test/[,
grep, head/tail, wc, dumpsys, settings, svc, input, date, which and cmd."""

from __future__ import annotations

import asyncio
import os
import re
import stat as stat_mod
import time
from typing import TYPE_CHECKING

from device_agent.virtual.sh.api import COMMANDS, IO, command, open_read, split_flags

if TYPE_CHECKING:
    from device_agent.virtual.shell import Shell


@command("uname")
async def _uname(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _ = split_flags(argv, "asnrvmo")
    dev = sh.device
    parts = {
        "s": "Linux",
        "n": "localhost",
        "r": dev.profile.kernel,
        "v": "#1 SMP PREEMPT Thu Jan 1 00:00:00 UTC 2024",
        "m": "aarch64",
        "o": "Toybox",
    }
    order = "snrvm" if "a" in flags else "".join(ch for ch in "snrvmo" if ch in flags) or "s"
    await io.print(" ".join(parts[c] for c in order) + "\n")
    return 0


@command("id")
async def _id(sh: Shell, argv: list[str], io: IO) -> int:
    if "-u" in argv:
        await io.print("2000\n")
    elif "-un" in argv or "-nu" in argv:
        await io.print("shell\n")
    else:
        await io.print(
            "uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),1011(adb),"
            "1015(sdcard_rw),1028(sdcard_r),3001(net_bt_admin),3002(net_bt),3003(inet),3006(net_bw_stats) "
            "context=u:r:shell:s0\n"
        )
    return 0


@command("whoami")
async def _whoami(sh: Shell, argv: list[str], io: IO) -> int:
    await io.print("shell\n")
    return 0


@command("nproc")
async def _nproc(sh: Shell, argv: list[str], io: IO) -> int:
    await io.print(f"{sh.device.profile.cores}\n")
    return 0


@command("sleep")
async def _sleep(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) < 2:
        await io.eprint('sleep: Needs 1 argument (see "sleep --help")\n')
        return 1
    try:
        secs = sum(float(a.rstrip("s")) for a in argv[1:])
    except ValueError:
        await io.eprint(f"sleep: Not a number '{argv[1]}'\n")
        return 1
    await asyncio.sleep(secs)
    return 0


@command("taskset")
async def _taskset(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    if args and args[0] == "-p":
        await io.print(f"pid {args[-1]}'s affinity mask: {(1 << sh.device.profile.cores) - 1:x}\n")
        return 0
    if len(args) < 2:
        await io.eprint('taskset: Needs 2 arguments (see "taskset --help")\n')
        return 1
    try:
        mask = int(args[0], 16)
    except ValueError:
        await io.eprint(f"taskset: bad mask '{args[0]}'\n")
        return 1
    if mask & ((1 << sh.device.profile.cores) - 1) == 0:
        await io.eprint("taskset: sched_setaffinity: Invalid argument\n")
        return 1
    return await sh.dispatch(args[1:], io)


@command("test", "[")
async def _test(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    if argv[0] == "[":
        if not args or args[-1] != "]":
            await io.eprint("[: missing ]\n")
            return 2
        args = args[:-1]
    negate = False
    if args and args[0] == "!":
        negate, args = True, args[1:]
    result: bool
    if not args:
        result = False
    elif len(args) == 1:
        result = args[0] != ""
    elif len(args) == 1 and args[0] == "-t":
        result = io.stdin.tty
    elif len(args) == 2 and args[0] in (
        "-e",
        "-f",
        "-d",
        "-x",
        "-r",
        "-w",
        "-s",
        "-n",
        "-z",
        "-L",
        "-h",
        "-t",
    ):
        op, val = args
        if op == "-t":
            result = (val == "0" and io.stdin.tty) or (val in ("1", "2") and sh.pty)
        elif op == "-n":
            result = val != ""
        elif op == "-z":
            result = val == ""
        else:
            try:
                phone = sh.device.phone_path(val, sh.cwd)
                host = sh.device.resolve(phone)
                st = os.stat(host)
            except OSError:
                result = False
            else:
                result = {
                    "-e": True,
                    "-f": stat_mod.S_ISREG(st.st_mode),
                    "-d": stat_mod.S_ISDIR(st.st_mode),
                    "-x": bool(st.st_mode & 0o111),
                    "-r": True,
                    "-w": sh.device.writable(phone),
                    "-s": st.st_size > 0,
                    "-L": host.is_symlink(),
                    "-h": host.is_symlink(),
                }[op]
    elif len(args) == 3:
        a, op, b = args
        try:
            if op in ("=", "=="):
                result = a == b
            elif op == "!=":
                result = a != b
            elif op in ("-eq", "-ne", "-lt", "-le", "-gt", "-ge"):
                x, y = int(a), int(b)
                result = {
                    "-eq": x == y,
                    "-ne": x != y,
                    "-lt": x < y,
                    "-le": x <= y,
                    "-gt": x > y,
                    "-ge": x >= y,
                }[op]
            else:
                await io.eprint(f"{argv[0]}: unknown operand '{op}'\n")
                return 2
        except ValueError:
            await io.eprint(f"{argv[0]}: bad number\n")
            return 2
    else:
        await io.eprint(f"{argv[0]}: too many arguments\n")
        return 2
    return 0 if result != negate else 1


@command("grep")
async def _grep(sh: Shell, argv: list[str], io: IO) -> int:
    flags, rest = split_flags(argv, "ivcqFEwx")
    if not rest:
        await io.eprint('grep: Needs 1 argument (see "grep --help")\n')
        return 2
    pattern, files = rest[0], rest[1:]
    try:
        rx = re.compile(re.escape(pattern) if "F" in flags else pattern, re.I if "i" in flags else 0)
    except re.error:
        await io.eprint(f"grep: bad regex '{pattern}'\n")
        return 2
    data = b""
    if files:
        for f in files:
            data += open_read(sh, "grep", f)
    else:
        data = await io.stdin.read_all()
    lines = data.decode("utf-8", "surrogateescape").splitlines()
    hits = [ln for ln in lines if bool(rx.search(ln)) != ("v" in flags)]
    if "c" in flags:
        await io.print(f"{len(hits)}\n")
    elif "q" not in flags:
        await io.print("".join(h + "\n" for h in hits))
    return 0 if hits else 1


@command("head", "tail")
async def _head(sh: Shell, argv: list[str], io: IO) -> int:
    n = 10
    files = []
    args = argv[1:]
    i = 0
    while i < len(args):
        if args[i] == "-n" and i + 1 < len(args):
            n = int(args[i + 1])
            i += 2
            continue
        if re.fullmatch(r"-\d+", args[i]):
            n = int(args[i][1:])
        else:
            files.append(args[i])
        i += 1
    data = b"".join(open_read(sh, argv[0], f) for f in files) if files else await io.stdin.read_all()
    lines = data.splitlines(keepends=True)
    await io.out(b"".join(lines[:n] if argv[0] == "head" else lines[-n:] if n else []))
    return 0


@command("wc")
async def _wc(sh: Shell, argv: list[str], io: IO) -> int:
    flags, files = split_flags(argv, "lcw")
    data = b"".join(open_read(sh, "wc", f) for f in files) if files else await io.stdin.read_all()
    counts = {"l": data.count(b"\n"), "w": len(data.split()), "c": len(data)}
    shown = [counts[k] for k in "lwc" if k in flags] or [counts["l"], counts["w"], counts["c"]]
    await io.print(" ".join(str(c) for c in shown) + (f" {files[0]}" if len(files) == 1 else "") + "\n")
    return 0


@command("dumpsys")
async def _dumpsys(sh: Shell, argv: list[str], io: IO) -> int:
    from device_agent.virtual import dumpsys

    return await dumpsys.run(sh.device, argv[1:], io)


@command("settings")
async def _settings(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    if len(args) >= 3 and args[0] == "get" and args[1] in ("global", "system", "secure"):
        await io.print(sh.device.settings.get((args[1], args[2]), "null") + "\n")
        return 0
    if len(args) >= 4 and args[0] == "put" and args[1] in ("global", "system", "secure"):
        sh.device.settings[(args[1], args[2])] = args[3]
        return 0
    await io.eprint("usage:  settings [--user <USER_ID> | current] get namespace key\n")
    return 1


@command("svc")
async def _svc(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    if len(args) >= 2 and args[0] == "power" and args[1] == "stayon":
        value = args[2] if len(args) > 2 else "true"
        sh.device.settings[("global", "stay_on_while_plugged_in")] = "7" if value == "true" else "0"
        return 0
    await io.print("Available commands:\n    help\n    power\n    data\n    wifi\n    usb\n    nfc\n")
    return 0


@command("input")
async def _input(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    if len(args) >= 2 and args[0] == "keyevent":
        key = args[1]
        if key in ("26", "KEYCODE_POWER"):
            sh.device.screen_on = not sh.device.screen_on
        elif key in ("223", "KEYCODE_SLEEP"):
            sh.device.screen_on = False
        elif key in ("224", "KEYCODE_WAKEUP"):
            sh.device.screen_on = True
        return 0
    await io.eprint("Usage: input [<source>] <command> [<arg>...]\n")
    return 1


@command("date")
async def _date(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) > 1 and argv[1].startswith("+"):
        fmt = argv[1][1:].replace("%N", "000000000")
        await io.print(time.strftime(fmt) + "\n")
    else:
        await io.print(time.strftime("%a %b %d %H:%M:%S %Z %Y") + "\n")
    return 0


@command("which", "command")
async def _which(sh: Shell, argv: list[str], io: IO) -> int:
    args = [a for a in argv[1:] if not a.startswith("-")]
    status = 0
    for a in args:
        if a in COMMANDS:
            await io.print(f"/system/bin/{a}\n")
        else:
            status = 1
    return status


@command("cmd")
async def _cmd(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) >= 3 and argv[1] == "thermalservice":
        from device_agent.virtual import dumpsys

        return await dumpsys.run(sh.device, ["thermalservice"], io)
    if len(argv) >= 2 and argv[1] == "battery":
        return 0
    await io.eprint(f"cmd: Can't find service: {argv[1] if len(argv) > 1 else ''}\n")
    return 20


# The other command families register themselves into COMMANDS when imported.
