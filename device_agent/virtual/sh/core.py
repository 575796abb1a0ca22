"""The shell's own small commands: true, false, exit, echo, cd, pwd, export, unset, sh and
getprop (mksh builtins, and the two commands every farm script starts with)."""

from __future__ import annotations

import errno
import re
from typing import TYPE_CHECKING

from device_agent.virtual.sh.api import IO, SH, ExitShell, command, strerror

if TYPE_CHECKING:
    from device_agent.virtual.shell import Shell


@command("true", ":")
async def _true(sh: Shell, argv: list[str], io: IO) -> int:
    return 0


@command("false")
async def _false(sh: Shell, argv: list[str], io: IO) -> int:
    return 1


@command("exit")
async def _exit(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) > 1:
        try:
            code = int(argv[1]) & 0xFF
        except ValueError:
            await io.eprint(f"{SH}: exit: {argv[1]}: bad number\n")
            code = 1
    else:
        code = sh.status
    raise ExitShell(code)


@command("echo")
async def _echo(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    newline, escapes = True, False
    while args and re.fullmatch(r"-[neE]+", args[0]):
        for ch in args[0][1:]:
            newline = newline and ch != "n"
            escapes = (escapes or ch == "e") and ch != "E"
        args = args[1:]
    text = " ".join(args)
    if escapes:
        text = text.encode("latin-1", "backslashreplace").decode("unicode_escape")
    await io.print(text + ("\n" if newline else ""))
    return 0


@command("cd")
async def _cd(sh: Shell, argv: list[str], io: IO) -> int:
    target = argv[1] if len(argv) > 1 else "/"
    try:
        phone = sh.device.phone_path(target, sh.cwd)
        host = sh.device.resolve(phone)
        if not host.is_dir():
            raise (
                NotADirectoryError(errno.ENOTDIR, "Not a directory")
                if host.exists()
                else FileNotFoundError(errno.ENOENT, "No such file or directory")
            )
    except OSError as exc:
        await io.eprint(f"{SH}: cd: {target}: {strerror(exc)}\n")
        return 2
    sh.cwd = phone
    sh.vars["PWD"] = phone
    return 0


@command("pwd")
async def _pwd(sh: Shell, argv: list[str], io: IO) -> int:
    await io.print(sh.cwd + "\n")
    return 0


@command("export")
async def _export(sh: Shell, argv: list[str], io: IO) -> int:
    for a in argv[1:]:
        k, eq, v = a.partition("=")
        if eq:
            sh.vars[k] = v
    return 0


@command("unset")
async def _unset(sh: Shell, argv: list[str], io: IO) -> int:
    for a in argv[1:]:
        sh.vars.pop(a, None)
    return 0


@command("sh")
async def _sh(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) >= 3 and argv[1] == "-c":
        return await sh.child_shell(io).run(argv[2])
    if len(argv) >= 2:
        return (
            await sh.exec_file(argv[1:], io) if "/" in argv[1] else await sh.exec_file(["./" + argv[1]], io)
        )
    return 0


@command("getprop")
async def _getprop(sh: Shell, argv: list[str], io: IO) -> int:
    props = sh.device.props()
    args = [a for a in argv[1:] if not a.startswith("-")]
    if not args:
        await io.print("".join(f"[{k}]: [{v}]\n" for k, v in sorted(props.items())))
    else:
        default = args[1] if len(args) > 1 else ""
        await io.print(props.get(args[0], default) + "\n")
    return 0
