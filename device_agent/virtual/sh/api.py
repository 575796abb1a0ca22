"""What every shell command family needs, and nothing that needs them: the base of the shell.

Why a module of its own: the command families (sh/core.py, sh/fs.py, ...) register into
COMMANDS with `@command` and raise CmdError; the evaluator (shell.py) imports the families so
they register. With the registry and these small types here, the families never import the
evaluator back, and there is no import circle. `Shell` is named only in annotations.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from device_agent.virtual.sh.stdin import Stdin

if TYPE_CHECKING:
    from device_agent.virtual.shell import Shell

SH = "/system/bin/sh"
Writer = Callable[[bytes], Awaitable[None]]


class ExitShell(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class LoopControl(Exception):
    """`break N` / `continue N` unwinding to the enclosing loop."""

    def __init__(self, kind: str, levels: int) -> None:
        self.kind = kind
        self.levels = levels


class ReturnFromFunction(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class CmdError(Exception):
    """A toybox-style failure: message for stderr and an exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        self.message = message
        self.code = code


@dataclass
class IO:
    out: Writer
    err: Writer
    stdin: Stdin = field(default_factory=Stdin)

    async def print(self, text: str) -> None:
        await self.out(text.encode("utf-8", "surrogateescape"))

    async def eprint(self, text: str) -> None:
        await self.err(text.encode("utf-8", "surrogateescape"))


def strerror(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "No such file or directory"
    return exc.strerror or os.strerror(exc.errno or errno.EIO)


Handler = Callable[["Shell", list[str], IO], Awaitable[int]]
COMMANDS: dict[str, Handler] = {}
# mksh's own builtins: run inside the shell's process, never as a child with a pid.
BUILTINS = frozenset(
    [
        "true",
        "false",
        ":",
        "exit",
        "echo",
        "cd",
        "pwd",
        "export",
        "unset",
        "read",
        "trap",
        "test",
        "[",
        "kill",
        "printf",
        "set",
        "shift",
        "return",
        "local",
        "eval",
        ".",
        "source",
        "exec",
        "wait",
        "break",
        "continue",
        "type",
        "alias",
        "umask",
        "ulimit",
        "getopts",
        "let",
    ]
)


def command(*names: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        for n in names:
            COMMANDS[n] = fn
        return fn

    return deco


def split_flags(argv: list[str], known: str) -> tuple[set[str], list[str]]:
    """Toybox-style short flags (combined: -rf); stops at `--`; unknown flags raise."""
    flags: set[str] = set()
    rest: list[str] = []
    it = iter(argv[1:])
    for a in it:
        if a == "--":
            rest.extend(it)
            break
        if a.startswith("-") and len(a) > 1 and not rest:
            for ch in a[1:]:
                if ch not in known:
                    raise CmdError(f"{argv[0]}: Unknown option '{ch}' (see \"{argv[0]} --help\")\n")
                flags.add(ch)
        else:
            rest.append(a)
    return flags, rest


def open_read(sh: Shell, cmd: str, path: str) -> bytes:
    try:
        return sh.read_file(path)
    except IsADirectoryError:
        raise CmdError(f"{cmd}: {path}: Is a directory\n") from None
    except OSError as exc:
        raise CmdError(f"{cmd}: {path}: {strerror(exc)}\n") from None


async def each_path(
    name: str,
    paths: list[str],
    io: IO,
    fn: Callable[[str], Awaitable[int | None]],
    *,
    shown: Callable[[str], str] = str,
) -> int:
    """Run `fn` on each path in turn, as toybox's commands loop over their arguments.

    Why one loop: every file command (cp, mv, rm, mkdir, chmod, touch, stat, ls, chown, du)
    reports a path's OSError the same way, `name: path: reason` (`shown` changes how the path
    is named: quoted by stat, the link by ln), and goes on with the next path; the status is 1
    if any path failed, by OSError or by `fn` returning non-zero after its own message."""
    status = 0
    for path in paths:
        try:
            failed = await fn(path)
        except ConnectionError:  # the host went away while fn printed: SIGPIPE, not this path's fault
            raise
        except OSError as exc:
            await io.eprint(f"{name}: {shown(path)}: {strerror(exc)}\n")
            failed = 1
        if failed:
            status = 1
    return status


async def each_file(
    sh: Shell, name: str, files: list[str], io: IO, fn: Callable[[str, bytes], Awaitable[None]]
) -> int:
    status = 0
    files = files or ["-"]
    for path in files:
        if path == "-":
            await fn(path, await io.stdin.read_all())
            continue
        try:
            data = open_read(sh, name, path)
        except CmdError as e:
            await io.eprint(e.message)
            status = 1
            continue
        await fn(path, data)
    return status
