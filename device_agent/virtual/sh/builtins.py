"""mksh builtins that change the shell itself: read, trap, eval, set, shift, type, wait.

They run inside the shell's own process (shell.BUILTINS), never as a child with a pid.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from device_agent.virtual.sh.api import (
    BUILTINS,
    COMMANDS,
    IO,
    SH,
    CmdError,
    ExitShell,
    LoopControl,
    ReturnFromFunction,
    command,
)
from device_agent.virtual.sh.procs import SIGNALS, signal_number

if TYPE_CHECKING:
    from device_agent.virtual.shell import Shell

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@command("read")
async def _read(sh: Shell, argv: list[str], io: IO) -> int:
    raw, names, timeout = False, [], None
    it = iter(argv[1:])
    for a in it:
        if a == "-r":
            raw = True
        elif a == "-t":
            value = next(it, "")
            try:
                timeout = float(value)
            except ValueError:
                raise CmdError(f"{SH}: read: -t: {value}: bad number\n", 2) from None
        elif a in ("-p", "-u", "-d", "-n", "-N"):
            next(it, None)
        elif a.startswith("-") and len(a) > 1:
            raise CmdError(f"{SH}: read: -{a[1:]}: unknown option\n", 2)
        else:
            names.append(a)
    names = names or ["REPLY"]
    for n in names:
        if not _NAME.match(n):
            raise CmdError(f"{SH}: read: {n}: is not an identifier\n", 2)
    try:
        line = await asyncio.wait_for(io.stdin.readline(), timeout) if timeout else await io.stdin.readline()
    except TimeoutError:
        return 1
    if line is None:
        for n in names:
            sh.vars[n] = ""
        return 1
    text = line.decode("utf-8", "surrogateescape").rstrip("\n")
    if not raw:
        text = re.sub(r"\\(.)", r"\1", text.replace("\\\n", ""))
    fields = text.split(None, len(names) - 1) if len(names) > 1 else [text.strip()]
    for i, n in enumerate(names):
        sh.vars[n] = fields[i] if i < len(fields) else ""
    return 0 if line.endswith(b"\n") else 1


@command("trap")
async def _trap(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    if not args:
        names = {v: k for k, v in SIGNALS.items()}
        for num, action in sorted(sh.traps.items()):
            name = "EXIT" if num == 0 else names.get(num, str(num))
            quoted = action.replace("'", "'\\''")
            await io.print(f"trap -- '{quoted}' {name}\n")
        return 0
    if len(args) == 1 or (signal_number(args[0]) is not None and args[0].isdecimal()):
        action, sigs = "-", args
    else:
        action, sigs = args[0], args[1:]
    status = 0
    for spec in sigs:
        sig: int | None = 0 if spec.upper() in ("EXIT", "0") else signal_number(spec)
        if sig is None:
            await io.eprint(f"{SH}: trap: bad signal '{spec}'\n")
            status = 1
            continue
        if action == "-":
            sh.traps.pop(sig, None)
        else:
            sh.traps[sig] = action
    return status


@command("eval")
async def _eval(sh: Shell, argv: list[str], io: IO) -> int:
    return await sh.run_script(" ".join(argv[1:]), io)


@command("set")
async def _set(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) == 1:
        await io.print("".join(f"{k}={v}\n" for k, v in sorted(sh.vars.items())))
        return 0
    args = argv[1:]
    while args and args[0][:1] in ("-", "+") and args[0] != "--":
        args = args[1:]
    if args and args[0] == "--":
        args = args[1:]
    if args or "--" in argv:
        sh.positional = list(args)
    return 0


@command("shift")
async def _shift(sh: Shell, argv: list[str], io: IO) -> int:
    n = int(argv[1]) if len(argv) > 1 and argv[1].isdecimal() else 1
    if n > len(sh.positional):
        raise CmdError(f"{SH}: shift: nothing to shift\n")
    sh.positional = sh.positional[n:]
    return 0


@command("type")
async def _type(sh: Shell, argv: list[str], io: IO) -> int:
    status = 0
    for name in argv[1:]:
        if name in sh.functions:
            await io.print(f"{name} is a function\n")
        elif name in BUILTINS:
            await io.print(f"{name} is a shell builtin\n")
        elif name in COMMANDS:
            await io.print(f"{name} is a tracked alias for /system/bin/{name}\n")
        else:
            await io.print(f"{name} not found\n")
            status = 1
    return status


@command("wait")
async def _wait(sh: Shell, argv: list[str], io: IO) -> int:
    status = 0
    for task in list(sh.jobs):
        try:
            status = await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                status = 143
            else:
                raise
        except Exception:
            status = 1
    return status


@command("break", "continue")
async def _break(sh: Shell, argv: list[str], io: IO) -> int:
    n = int(argv[1]) if len(argv) > 1 and argv[1].isdecimal() and int(argv[1]) > 0 else 1
    raise LoopControl(argv[0], n)


@command("return")
async def _return(sh: Shell, argv: list[str], io: IO) -> int:
    code = int(argv[1]) & 0xFF if len(argv) > 1 and argv[1].lstrip("-").isdecimal() else sh.status
    raise ReturnFromFunction(code)


@command("local", "typeset")
async def _local(sh: Shell, argv: list[str], io: IO) -> int:
    for a in argv[1:]:
        if a.startswith("-"):
            continue
        k, eq, v = a.partition("=")
        sh.vars[k] = v if eq else sh.vars.get(k, "")
    return 0


@command("let")
async def _let(sh: Shell, argv: list[str], io: IO) -> int:
    value = 0
    for expr in argv[1:]:
        value = sh.arith(expr)
    return 0 if value else 1


@command("exec")
async def _exec(sh: Shell, argv: list[str], io: IO) -> int:
    """`exec CMD ARGS`: the command replaces the shell; its status is the shell's."""
    if len(argv) < 2:
        return 0
    raise ExitShell(await sh.dispatch(argv[1:], io))
