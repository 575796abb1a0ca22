"""The virtual phone's /system/bin/sh: a small POSIX-sh interpreter with toybox-style commands.

Why an interpreter of our own: the farm sends real shell command lines to phones
(`cat a b 2>/dev/null`, `chmod 755 x && ./x --graph=...`), so the virtual phone must parse
them as Android's mksh does (quoting, `$?`, `;`/`&&`/`||`, redirections) and answer with
the same words and exit codes (127 not found, 126 cannot execute). It must also never be a
way into the host: nothing here calls a host shell or host program, and every path goes
through VirtualDevice.resolve(), which confines it to the phone's sandbox.

Only what a benchmarking farm plausibly sends is implemented; anything else answers
`/system/bin/sh: NAME: inaccessible or not found` with status 127, as mksh does.
"""

from __future__ import annotations

import asyncio
import errno
import fnmatch
import hashlib
import importlib
import os
import posixpath
import re
import stat as stat_mod
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from device_agent.virtual.sh import arith
from device_agent.virtual.sh.procs import ADBD_PID, Proc
from device_agent.virtual.sh.stdin import Stdin
from device_agent.virtual.sh.syntax import (
    AndOr,
    Case,
    Command,
    For,
    FuncDef,
    Group,
    If,
    Node,
    Pipeline,
    Redir,
    ShellSyntaxError,
    While,
    Word,
    parse,
    tokenize,
)

if TYPE_CHECKING:
    from device_agent.virtual.device import VirtualDevice

SH = "/system/bin/sh"
Writer = Callable[[bytes], Awaitable[None]]

# ---- execution ----------------------------------------------------------------------------------


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


MAX_CALL_DEPTH = 100


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


def _strerror(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "No such file or directory"
    return exc.strerror or os.strerror(exc.errno or errno.EIO)


async def _discard(_: bytes) -> None:
    return None


class Shell:
    """One `sh -c COMMAND` on the phone (adbd starts a fresh shell per command)."""

    def __init__(
        self,
        device: VirtualDevice,
        stdout: Writer,
        stderr: Writer,
        *,
        pty: bool = False,
        stdin: Stdin | None = None,
        ppid: int = ADBD_PID,
    ) -> None:
        self.device = device
        self.pty = pty
        self.ppid = ppid
        self.traps: dict[int, str] = {}
        self.functions: dict[str, Any] = {}
        self.positional: list[str] = []
        self.jobs: list[asyncio.Future[int]] = []
        self.last_bg = 0
        self.proc: Proc | None = None
        self.vars: dict[str, str] = {
            "PATH": "/product/bin:/apex/com.android.runtime/bin:/apex/com.android.art/bin:/system_ext/bin:"
            "/system/bin:/system/xbin:/odm/bin:/vendor/bin:/vendor/xbin",
            "HOME": "/",
            "SHELL": SH,
            "USER": "shell",
            "LOGNAME": "shell",
            "HOSTNAME": device.profile.props.get("ro.product.device", "localhost"),
            "TMPDIR": "/data/local/tmp",
            "ANDROID_DATA": "/data",
            "ANDROID_ROOT": "/system",
            "EXTERNAL_STORAGE": "/sdcard",
        }
        self.cwd = "/"
        self.status = 0
        self.pid = 0  # given by the process table when the shell starts
        stdin = stdin if stdin is not None else Stdin(tty=pty)
        if pty:
            self.io = IO(self._crlf(stdout), self._crlf(stderr), stdin)
        else:
            self.io = IO(stdout, stderr, stdin)

    @staticmethod
    def _crlf(w: Writer) -> Writer:
        async def write(data: bytes) -> None:
            await w(data.replace(b"\n", b"\r\n"))

        return write

    def start(self, args: list[str] | None = None) -> None:
        """Enter the process table (as `sh`, child of adbd unless ppid says otherwise)."""
        if self.proc is None:
            task = asyncio.current_task()
            adopted = self.device.procs.by_task(task)  # `sh -c` / a script run as a child
            if adopted is not None:
                adopted.name, adopted.args = "sh", args or [SH]
                self.proc = adopted
            else:
                self.proc = self.device.procs.spawn("sh", args or [SH], ppid=self.ppid, task=task)
            self.proc.on_signal = self._on_signal
            self.pid = self.proc.pid

    def finish(self) -> None:
        for task in self.jobs:
            task.cancel()
        self.jobs.clear()
        if self.proc is not None:
            self.device.procs.exit(self.proc.pid)
            self.proc = None

    def _on_signal(self, sig: int) -> bool:
        """A trapped signal: run its action in place of the default (death)."""
        action = self.traps.get(sig)
        if action is None:
            return False
        if action == "":
            return True  # ignored
        self._pending_trap = action
        if self.proc is not None and self.proc.task is not None:
            self.proc.task.cancel()
        return True

    _pending_trap: str | None = None

    async def signal_self(self, sig: int, io: IO) -> None:
        """`kill $$`: run the trap for sig, or die of it (status 128 + sig)."""
        action = self.traps.get(sig)
        if action is None:
            raise ExitShell(128 + sig)
        if action:
            await self.run_script(action, io)

    async def run(self, command: str) -> int:
        """`sh -c COMMAND`: run it, leave the process table, answer the exit status."""
        self.start([SH, "-c", command])
        try:
            try:
                code = await self.run_script(command, self.io)
            except ExitShell as e:
                code = e.code
            action = self.traps.pop(0, None)  # trap ... EXIT
            if action:
                self.status = code
                try:
                    await self.run_script(action, self.io)
                except ExitShell as e:
                    code = e.code
            return code
        except asyncio.CancelledError:
            trapped = await self._trap_on_cancel()
            if trapped is None:
                raise
            code = trapped
            return code
        finally:
            self.finish()

    async def run_line(self, line: str) -> int:
        """One line of an interactive shell; `exit N` raises ExitShell."""
        self.start()
        return await self.run_script(line, self.io)

    async def _trap_on_cancel(self) -> int | None:
        """Cancelled (host hung up: SIGHUP, or a trapped kill): run the trap, if any."""
        action = self._pending_trap
        self._pending_trap = None
        if action is None:
            action = self.traps.get(1)  # the host closing the stream is a hangup
        task = asyncio.current_task()
        if action is None or task is None:
            return None
        task.uncancel()
        try:
            await self.run_script(action, self.io)
        except ExitShell as e:
            return e.code
        except Exception:  # the trap's own output may hit a closed stream
            return self.status
        return self.status

    async def run_script(self, src: str, io: IO) -> int:
        try:
            tree = parse(src)
        except ShellSyntaxError as exc:
            await io.eprint(f"{SH}: syntax error: {exc}\n")
            self.status = 1 if "unterminated" not in str(exc) else 2
            return self.status
        return await self.exec_list(tree, io)

    async def exec_list(self, items: list[tuple[AndOr, bool]], io: IO) -> int:
        for andor, bg in items:
            if bg:
                self.background(andor, io)
                self.status = 0
            else:
                self.status = await self.exec_andor(andor, io)
        return self.status

    def background(self, andor: AndOr, io: IO) -> None:
        """`cmd &`: a child process of its own; `$!` is its pid. It ends with this shell at
        the latest (the virtual phone has no init to adopt orphans)."""
        task = asyncio.ensure_future(self.exec_andor(andor, IO(io.out, io.err, Stdin())))
        proc = self.device.procs.spawn("sh", [SH], ppid=self.pid or ADBD_PID, task=task)
        self.last_bg = proc.pid
        self.jobs.append(task)
        pid = proc.pid

        def reap(_task: asyncio.Future[int]) -> None:
            self.device.procs.exit(pid)

        task.add_done_callback(reap)

    async def exec_node(self, node: Node, io: IO) -> int:
        if isinstance(node, Command):
            return await self.exec_command(node, io)
        opened: list[Any] = []
        try:
            try:
                io = await self.apply_redirs(node.redirs, io, opened)
            except CmdError as e:
                await io.eprint(e.message)
                return e.code
            return await self._exec_compound(node, io)
        finally:
            for fh in opened:
                fh.close()

    async def _exec_compound(self, node: Node, io: IO) -> int:
        if isinstance(node, Group):
            if not node.subshell:
                return await self.exec_list(node.body, io)
            saved = (dict(self.vars), self.cwd, dict(self.traps), list(self.positional))
            try:
                return await self.exec_list(node.body, io)
            except ExitShell as e:
                return e.code
            finally:
                self.vars, self.cwd, self.traps, self.positional = saved
        if isinstance(node, If):
            for cond, body in node.branches:
                if await self.exec_list(cond, io) == 0:
                    return await self.exec_list(body, io)
            if node.orelse is not None:
                return await self.exec_list(node.orelse, io)
            return 0
        if isinstance(node, While | For):
            return await self._loop(node, io)
        if isinstance(node, Case):
            subject = " ".join(await self.expand(node.word, split=False))
            for patterns, body in node.arms:
                for pat in patterns:
                    text = " ".join(await self.expand(pat, split=False))
                    literal = all(seg.quoted for seg in pat.segs)
                    if (subject == text) if literal else fnmatch.fnmatchcase(subject, text):
                        return await self.exec_list(body, io)
            return 0
        if isinstance(node, FuncDef):
            self.functions[node.name] = node.body
            return 0
        raise CmdError(f"{SH}: unsupported construct\n", 2)

    async def _loop(self, node: While | For, io: IO) -> int:
        status = 0
        if isinstance(node, For):
            if node.items is None:
                values = list(self.positional)
            else:
                values = []
                for w in node.items:
                    values.extend(await self.expand(w))
        rounds = 0
        while True:
            if isinstance(node, For):
                if rounds >= len(values):
                    break
                self.vars[node.var] = values[rounds]
            else:
                ok = await self.exec_list(node.cond, io) == 0
                if ok == node.until:
                    break
            rounds += 1
            if rounds % 64 == 0:
                await asyncio.sleep(0)  # an endless loop stays killable and the phone responsive
            try:
                status = await self.exec_list(node.body, io)
            except LoopControl as lc:
                if lc.levels > 1:
                    lc.levels -= 1
                    raise
                if lc.kind == "break":
                    break
        self.status = status
        return status

    async def call_function(self, name: str, argv: list[str], io: IO) -> int:
        if self._call_depth >= MAX_CALL_DEPTH:
            raise CmdError(f"{SH}: {name}: too many nested function calls\n", 1)
        saved = self.positional
        self.positional = argv[1:]
        self._call_depth += 1
        try:
            return await self.exec_node(self.functions[name], io)
        except ReturnFromFunction as r:
            return r.code
        finally:
            self._call_depth -= 1
            self.positional = saved

    _call_depth = 0

    def arith(self, expr: str) -> int:
        def get(name: str) -> str:
            return self.var(name)

        def put(name: str, value: str) -> None:
            self.vars[name] = value

        try:
            return arith.evaluate(expr, get, put)
        except arith.ArithError as exc:
            raise CmdError(f"{SH}: {expr.strip()}: {exc}\n", 1) from None

    async def exec_andor(self, a: AndOr, io: IO) -> int:
        status = await self.exec_pipeline(a.first, io)
        for op, p in a.rest:
            if (op == "&&" and status == 0) or (op == "||" and status != 0):
                status = await self.exec_pipeline(p, io)
            self.status = status
        return status

    async def exec_pipeline(self, p: Pipeline, io: IO) -> int:
        stdin: Stdin = io.stdin
        status = 0
        for i, cmd in enumerate(p.commands):
            last = i == len(p.commands) - 1
            if last:
                status = await self.exec_node(cmd, IO(io.out, io.err, stdin))
            else:
                buf = bytearray()

                async def collect(data: bytes, buf: bytearray = buf) -> None:
                    buf.extend(data)

                await self.exec_node(cmd, IO(collect, io.err, stdin))
                stdin = Stdin(bytes(buf))
        if p.negate:
            status = 0 if status else 1
        self.status = status
        return status

    # -- expansion -----------------------------------------------------------------------------

    def var(self, name: str) -> str:
        if name == "?":
            return str(self.status)
        if name == "$":
            return str(self.pid)
        if name == "#":
            return str(len(self.positional))
        if name == "0":
            return SH
        if name in ("@", "*"):
            return " ".join(self.positional)
        if name.isdigit():
            i = int(name)
            return self.positional[i - 1] if i <= len(self.positional) else ""
        if name == "!":
            return str(self.last_bg) if self.last_bg else ""
        if name == "-":
            return ""
        if ":-" in name:
            n, _, default = name.partition(":-")
            return self.vars.get(n) or default
        return self.vars.get(name, "")

    async def expand(self, word: Word, *, split: bool = True) -> list[str]:
        """Fields of a word after parameter/command expansion, field splitting and globbing."""
        fields: list[list[tuple[str, bool]]] = [[]]
        for seg in word.segs:
            if seg.kind == "lit":
                fields[-1].append((seg.text, seg.quoted))
                continue
            if seg.kind == "var":
                value = self.var(seg.text)
            elif seg.kind == "arith":
                expr = await self.expand_text(seg.text) if "$" in seg.text or "`" in seg.text else seg.text
                value = str(self.arith(expr))
            elif seg.kind == "heredoc":
                value = seg.text if seg.quoted else await self.expand_text(seg.text, heredoc=True)
                fields[-1].append((value, True))
                continue
            else:
                buf = bytearray()

                async def collect(data: bytes, buf: bytearray = buf) -> None:
                    buf.extend(data)

                sub = Shell(self.device, collect, self.io.err, stdin=self.io.stdin)
                sub.vars, sub.cwd, sub.status = dict(self.vars), self.cwd, self.status
                sub.pid, sub.traps = self.pid, dict(self.traps)
                try:
                    self.status = await sub.run_script(seg.text, IO(collect, self.io.err))
                except ExitShell as e:
                    self.status = e.code
                value = buf.decode("utf-8", "surrogateescape").rstrip("\n")
            if seg.quoted or not split:
                fields[-1].append((value, True))
            else:
                parts = value.split()
                if not parts:
                    continue
                if value[:1].isspace() and fields[-1]:
                    fields.append([])
                for j, part in enumerate(parts):
                    if j:
                        fields.append([])
                    fields[-1].append((part, True))
                if value[-1:].isspace():
                    fields.append([])
        out: list[str] = []
        for f in fields:
            if not f:
                continue
            text = "".join(t for t, _ in f)
            globby = any(not q and any(ch in t for ch in "*?[") for t, q in f)
            if globby and split:
                matches = self.glob(text)
                out.extend(matches or [text])
            else:
                out.append(text)
        if not out and any(s.quoted for s in word.segs):
            out.append("")
        return out

    async def expand_text(self, text: str, *, heredoc: bool = False) -> str:
        """$-expansions inside a here-document (or an arithmetic body): as in double quotes,
        where a `"` is just a character."""
        escaped = text.replace('"', '\\"') if heredoc else text
        try:
            words = tokenize('"' + escaped + '"')
        except ShellSyntaxError:
            return text
        if len(words) != 1 or not isinstance(words[0], Word):
            return text
        return "".join(await self.expand(words[0], split=False))

    def glob(self, pattern: str) -> list[str]:
        absolute = pattern.startswith("/")
        parts = [p for p in pattern.split("/") if p]
        bases = ["/" if absolute else ""]
        for part in parts:
            nxt: list[str] = []
            for base in bases:
                if not any(ch in part for ch in "*?["):
                    nxt.append(posixpath.join(base, part) if base else part)
                    continue
                try:
                    host = self.device.resolve(base or ".", cwd=self.cwd)
                    names = sorted(os.listdir(host))
                except OSError:
                    continue
                for name in names:
                    if name.startswith(".") and not part.startswith("."):
                        continue
                    if fnmatch.fnmatchcase(name, part):
                        nxt.append(posixpath.join(base, name) if base else name)
            bases = nxt
        existing = []
        for b in bases:
            try:
                if os.path.lexists(self.device.resolve(b, cwd=self.cwd)):
                    existing.append(b)
            except OSError:
                continue
        return sorted(existing, key=_glob_key)

    # -- commands ------------------------------------------------------------------------------

    async def exec_command(self, cmd: Command, io: IO) -> int:
        argv: list[str] = []
        try:
            for w in cmd.words:
                argv.extend(await self.expand(w))
            assigned = {name: " ".join(await self.expand(value, split=False)) for name, value in cmd.assigns}
        except CmdError as e:  # a bad $(( )): the command does not run
            await io.eprint(e.message)
            return e.code
        if not argv:
            self.vars.update(assigned)
        opened: list[Any] = []
        try:
            try:
                io = await self.apply_redirs(cmd.redirs, io, opened)
            except CmdError as e:
                await io.eprint(e.message)
                return e.code
            if not argv:
                return 0
            try:
                return await self.dispatch(argv, io)
            except CmdError as e:
                await io.eprint(e.message)
                return e.code
        finally:
            for fh in opened:
                fh.close()

    async def apply_redirs(self, redirs: list[Redir], io: IO, opened: list[Any]) -> IO:
        out, err, stdin = io.out, io.err, io.stdin
        for r in redirs:
            target = " ".join(await self.expand(r.target, split=False))
            if r.op in (">&", "<&"):
                if target == "1":
                    w = out
                elif target == "2":
                    w = err
                elif target == "-":
                    w = _discard
                else:
                    raise CmdError(f"{SH}: {target}: bad file descriptor\n")
                if r.fd == 1:
                    out = w
                elif r.fd == 2:
                    err = w
                continue
            if r.op in ("<<", "<<-"):
                stdin = Stdin(target.encode("utf-8", "surrogateescape"))
                continue
            if r.op == "<":
                try:
                    stdin = Stdin(self.read_file(target))
                except OSError as exc:
                    raise CmdError(f"{SH}: can't open {target}: {_strerror(exc)}\n") from None
                continue
            if target in ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"):
                w = _discard
            else:
                try:
                    host = self.device.resolve(target, cwd=self.cwd, write=True)
                    if host.is_dir():
                        raise IsADirectoryError(errno.EISDIR, "Is a directory")
                    fh = open(host, "ab" if r.op == ">>" else "wb")  # noqa: SIM115 - closed by exec_command
                except OSError as exc:
                    raise CmdError(f"{SH}: can't create {target}: {_strerror(exc)}\n") from None
                opened.append(fh)

                async def w(data: bytes, fh: Any = fh) -> None:
                    fh.write(data)
                    fh.flush()

            if r.fd == 1:
                out = w
            elif r.fd == 2:
                err = w
        return IO(out, err, stdin)

    async def dispatch(self, argv: list[str], io: IO) -> int:
        name = argv[0]
        if "/" in name:
            return await self.exec_file(argv, io)
        if name == "toybox" and len(argv) > 1:
            argv = argv[1:]
            name = argv[0]
        if name in self.functions:
            return await self.call_function(name, argv, io)
        handler = COMMANDS.get(name)
        if handler is None:
            await io.eprint(f"{SH}: {name}: inaccessible or not found\n")
            return 127
        if name in BUILTINS:
            return await handler(self, argv, io)
        return await self.child(name, argv, handler(self, argv, io))

    async def child(self, name: str, argv: list[str], work: Awaitable[int]) -> int:
        """Run a command as a child process: its own pid and task, so `kill` stops only it."""
        task = asyncio.ensure_future(work)
        proc = self.device.procs.spawn(posixpath.basename(name), argv, ppid=self.pid or ADBD_PID, task=task)
        try:
            code = await task
            if code in (134, 135, 136, 139) and "/" in name:  # a native crash: libc says so
                sig = code - 128
                names = {6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 11: "SIGSEGV"}
                self.device.logs.add(
                    "F",
                    "libc",
                    f"Fatal signal {sig} ({names[sig]}) in tid {proc.pid} ({proc.name[:15]}), "
                    f"pid {proc.pid} ({proc.name[:15]})",
                    pid=proc.pid,
                )
            return code
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if task.cancelled() and me is not None and not me.cancelling():
                return 128 + (proc.killed_by or 15)
            task.cancel()
            raise
        finally:
            self.device.procs.exit(proc.pid)

    def read_file(self, path: str) -> bytes:
        """A phone file's bytes for a reader (redirection, cat): the device files included."""
        return self.device.read_file(path, cwd=self.cwd)

    async def exec_file(self, argv: list[str], io: IO) -> int:
        from device_agent.virtual import as_real, benchmark_tool

        path = argv[0]
        try:
            host = self.device.resolve(path, cwd=self.cwd)
            st = host.stat()
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                await io.eprint(f"{SH}: {path}: inaccessible or not found\n")
                return 127
            await io.eprint(f"{SH}: {path}: can't execute: {_strerror(exc)}\n")
            return 126
        if stat_mod.S_ISDIR(st.st_mode):
            await io.eprint(f"{SH}: {path}: can't execute: Is a directory\n")
            return 126
        if not st.st_mode & 0o111:
            await io.eprint(f"{SH}: {path}: can't execute: Permission denied\n")
            return 126
        with open(host, "rb") as fh:
            head = fh.read(4096)
        if head.startswith(benchmark_tool.STUB_MAGIC) and not self.device.as_real:
            return await self.child(path, argv, benchmark_tool.run(self.device, argv, io, cwd=self.cwd))
        if head.startswith(b"\x7fELF"):
            refusal = as_real.exec_refusal(self.device, head)  # None: an ELF for this phone's ABIs
            if refusal is None:
                return await self.child(path, argv, benchmark_tool.run(self.device, argv, io, cwd=self.cwd))
            await io.eprint(f"{SH}: {path}: {refusal}\n")
            return 126
        if b"\0" in head:
            magic = int.from_bytes(head[:2].ljust(2, b"\0"), "big")
            await io.eprint(f"{SH}: {path}: not executable: magic {magic:04X}\n")
            return 126
        first = head.split(b"\n", 1)[0]
        if first.startswith(b"#!") and not first[2:].strip().startswith((b"/system/bin/sh", b"/bin/sh")):
            # the kernel cannot find the interpreter: execve fails with ENOENT
            await io.eprint(f"{SH}: {path}: No such file or directory\n")
            return 127
        # A text file without a usable #! is run by the shell itself, as mksh does (ENOEXEC).
        sub = Shell(self.device, io.out, io.err, stdin=io.stdin, ppid=self.pid)
        sub.cwd = self.cwd
        return await self.child(path, argv, sub.run(host.read_bytes().decode("utf-8", "surrogateescape")))


def _glob_key(p: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p)]


# ---- toybox and builtins ------------------------------------------------------------------------

Handler = Callable[[Shell, list[str], IO], Awaitable[int]]
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
        await io.eprint(f"{SH}: cd: {target}: {_strerror(exc)}\n")
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
        sub = Shell(sh.device, io.out, io.err, stdin=io.stdin, ppid=sh.pid)
        sub.cwd = sh.cwd
        return await sub.run(argv[2])
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


def _open_read(sh: Shell, cmd: str, path: str) -> bytes:
    try:
        return sh.read_file(path)
    except IsADirectoryError:
        raise CmdError(f"{cmd}: {path}: Is a directory\n") from None
    except OSError as exc:
        raise CmdError(f"{cmd}: {path}: {_strerror(exc)}\n") from None


async def _each_file(
    sh: Shell, name: str, files: list[str], io: IO, fn: Callable[[str, bytes], Awaitable[None]]
) -> int:
    status = 0
    files = files or ["-"]
    for path in files:
        if path == "-":
            await fn(path, await io.stdin.read_all())
            continue
        try:
            data = _open_read(sh, name, path)
        except CmdError as e:
            await io.eprint(e.message)
            status = 1
            continue
        await fn(path, data)
    return status


@command("cat")
async def _cat(sh: Shell, argv: list[str], io: IO) -> int:
    _, files = split_flags(argv, "uvAte")
    if not files or files == ["-"]:  # stream stdin as it arrives (a pipe from the host)
        while (chunk := await io.stdin.read()) is not None:
            await io.out(chunk)
        return 0

    async def emit(path: str, data: bytes) -> None:
        await io.out(data)

    return await _each_file(sh, "cat", files, io, emit)


def _hash_command(name: str, algo: str) -> Handler:
    async def run(sh: Shell, argv: list[str], io: IO) -> int:
        flags, files = split_flags(argv, "bc")
        if "c" in flags:
            return await _hash_check(sh, name, algo, files, io)

        async def emit(path: str, data: bytes) -> None:
            await io.print(f"{hashlib.new(algo, data).hexdigest()}  {path}\n")

        return await _each_file(sh, name, files, io, emit)

    return run


async def _hash_check(sh: Shell, name: str, algo: str, files: list[str], io: IO) -> int:
    status = 0
    for f in files:
        for line in _open_read(sh, name, f).decode().splitlines():
            digest, _, path = line.partition("  ")
            try:
                ok = hashlib.new(algo, _open_read(sh, name, path)).hexdigest() == digest
            except CmdError as e:
                await io.eprint(e.message)
                ok = False
            await io.print(f"{path}: {'OK' if ok else 'FAILED'}\n")
            status |= 0 if ok else 1
    return status


for _n, _a in (("sha256sum", "sha256"), ("md5sum", "md5"), ("sha1sum", "sha1"), ("sha512sum", "sha512")):
    COMMANDS[_n] = _hash_command(_n, _a)


def _link_suffix(sh: Shell, phone: str, st: os.stat_result) -> str:
    if not stat_mod.S_ISLNK(st.st_mode):
        return ""
    try:
        return " -> " + os.readlink(sh.device.root / phone.lstrip("/"))
    except OSError:
        return ""


def _mode_string(mode: int) -> str:
    kind = "d" if stat_mod.S_ISDIR(mode) else "l" if stat_mod.S_ISLNK(mode) else "-"
    bits = "".join(ch if mode & (1 << (8 - i)) else "-" for i, ch in enumerate("rwxrwxrwx"))
    return kind + bits


def _owner(sh: Shell, phone: str) -> str:
    return "shell" if sh.device.writable(phone) else "root"


@command("ls")
async def _ls(sh: Shell, argv: list[str], io: IO) -> int:
    flags, paths = split_flags(argv, "laAdhRt1sFn")
    status = 0
    paths = paths or ["."]
    files: list[tuple[str, str, os.stat_result]] = []
    dirs: list[tuple[str, str]] = []
    for p in paths:
        try:
            phone = sh.device.phone_path(p, sh.cwd)
            host = sh.device.resolve(phone)
            st = os.lstat(host)
        except OSError as exc:
            await io.eprint(f"ls: {p}: {_strerror(exc)}\n")
            status = 1
            continue
        if stat_mod.S_ISDIR(st.st_mode) and "d" not in flags:
            dirs.append((p, phone))
        else:
            files.append((p, phone, st))
    long = "l" in flags or "n" in flags

    async def show(entries: list[tuple[str, str, os.stat_result]]) -> None:
        if not long:
            await io.print("".join(name + "\n" for name, _, _ in entries))
            return
        lines = []
        for name, phone, st in entries:
            owner = _owner(sh, phone)
            ts = time.strftime("%Y-%m-%d %H:%M", time.localtime(st.st_mtime))
            size = st.st_size if not stat_mod.S_ISDIR(st.st_mode) else 4096
            lines.append(
                f"{_mode_string(st.st_mode)} {st.st_nlink if stat_mod.S_ISDIR(st.st_mode) else 1} "
                f"{owner} {owner} {size:>8} {ts} {name}{_link_suffix(sh, phone, st)}\n"
            )
        await io.print("".join(lines))

    await show(files)
    for i, (label, phone) in enumerate(dirs):
        host = sh.device.resolve(phone)
        try:
            names = sorted(os.listdir(host))
        except OSError as exc:
            await io.eprint(f"ls: {label}: {_strerror(exc)}\n")
            status = 1
            continue
        if "a" not in flags and "A" not in flags:
            names = [n for n in names if not n.startswith(".")]
        entries = []
        if "a" in flags:
            entries += [(".", phone, os.stat(host)), ("..", phone, os.stat(host))]
        for n in names:
            try:
                entries.append((n, posixpath.join(phone, n), os.lstat(host / n)))
            except OSError:
                continue
        if len(dirs) > 1 or files:
            await io.print(("\n" if i or files else "") + f"{label}:\n")
        if long:
            blocks = sum((e[2].st_blocks if hasattr(e[2], "st_blocks") else 0) for e in entries) // 2
            await io.print(f"total {blocks}\n")
        await show(entries)
    return status


@command("rm")
async def _rm(sh: Shell, argv: list[str], io: IO) -> int:
    flags, paths = split_flags(argv, "frRiv")
    if not paths and "f" not in flags:
        await io.eprint('rm: Needs 1 argument (see "rm --help")\n')
        return 1
    status = 0
    for p in paths:
        try:
            phone = sh.device.phone_path(p, sh.cwd)
            host = sh.device.resolve(phone)
            if not os.path.lexists(host):
                raise FileNotFoundError(errno.ENOENT, "No such file or directory")
            sh.device.resolve(phone, write=True)
            if host.is_dir() and not host.is_symlink():
                if not flags & {"r", "R"}:
                    raise IsADirectoryError(errno.EISDIR, "Is a directory")
                _rmtree(host)
            else:
                host.unlink()
        except OSError as exc:
            if "f" in flags and exc.errno == errno.ENOENT:
                continue
            await io.eprint(f"rm: {p}: {_strerror(exc)}\n")
            status = 1
    return status


def _rmtree(path: Path) -> None:
    for child in path.iterdir():
        if child.is_dir() and not child.is_symlink():
            _rmtree(child)
        else:
            child.unlink()
    path.rmdir()


@command("mkdir")
async def _mkdir(sh: Shell, argv: list[str], io: IO) -> int:
    flags, paths = split_flags(argv, "pvm")
    status = 0
    for p in paths:
        try:
            phone = sh.device.phone_path(p, sh.cwd)
            host = sh.device.resolve(phone)
            if host.exists():
                if "p" in flags and host.is_dir():
                    continue
                raise FileExistsError(errno.EEXIST, "File exists")
            sh.device.resolve(phone, write=True)
            host.mkdir(parents="p" in flags)
            os.chmod(host, 0o775)  # noqa: S103 - the phone's mkdir mode, inside the sandbox
        except OSError as exc:
            await io.eprint(f"mkdir: {p}: {_strerror(exc)}\n")
            status = 1
    return status


def _apply_symbolic(mode: int, spec: str) -> int:
    for clause in spec.split(","):
        m = re.fullmatch(r"([ugoa]*)([+\-=])([rwx]*)", clause)
        if not m:
            raise ValueError(spec)
        who = m.group(1) or "a"
        bits = 0
        for ch in m.group(3):
            base = {"r": 4, "w": 2, "x": 1}[ch]
            for w in who:
                for shift_who, shift in (("u", 6), ("g", 3), ("o", 0)):
                    if w in (shift_who, "a"):
                        bits |= base << shift
        if m.group(2) == "+":
            mode |= bits
        elif m.group(2) == "-":
            mode &= ~bits
        else:
            mask = sum(7 << s for w2, s in (("u", 6), ("g", 3), ("o", 0)) if w2 in who or "a" in who)
            mode = (mode & ~mask) | bits
    return mode


@command("chmod")
async def _chmod(sh: Shell, argv: list[str], io: IO) -> int:
    _flags, rest = split_flags(argv, "Rfv")
    if len(rest) < 2:
        await io.eprint('chmod: Need 2 arguments (see "chmod --help")\n')
        return 1
    spec, paths = rest[0], rest[1:]
    status = 0
    for p in paths:
        try:
            phone = sh.device.phone_path(p, sh.cwd)
            host = sh.device.resolve(phone)
            st = host.stat()
            sh.device.resolve(phone, write=True)
            if re.fullmatch(r"[0-7]{1,4}", spec):
                new = int(spec, 8)
            else:
                try:
                    new = _apply_symbolic(stat_mod.S_IMODE(st.st_mode), spec)
                except ValueError:
                    await io.eprint(f"chmod: bad mode '{spec}'\n")
                    return 1
            os.chmod(host, new & 0o7777)
        except OSError as exc:
            await io.eprint(f"chmod: {p}: {_strerror(exc)}\n")
            status = 1
    return status


@command("touch")
async def _touch(sh: Shell, argv: list[str], io: IO) -> int:
    _, paths = split_flags(argv, "acm")
    status = 0
    for p in paths:
        try:
            host = sh.device.resolve(p, cwd=sh.cwd, write=True)
            host.touch()
        except OSError as exc:
            await io.eprint(f"touch: {p}: {_strerror(exc)}\n")
            status = 1
    return status


@command("stat")
async def _stat(sh: Shell, argv: list[str], io: IO) -> int:
    fmt = None
    args = argv[1:]
    paths = []
    i = 0
    while i < len(args):
        if args[i] == "-c" and i + 1 < len(args):
            fmt = args[i + 1]
            i += 2
            continue
        if args[i].startswith("--format="):
            fmt = args[i].split("=", 1)[1]
        elif args[i] not in ("-L",):
            paths.append(args[i])
        i += 1
    status = 0
    for p in paths:
        try:
            phone = sh.device.phone_path(p, sh.cwd)
            st = os.stat(sh.device.resolve(phone))
        except OSError as exc:
            await io.eprint(f"stat: '{p}': {_strerror(exc)}\n")
            status = 1
            continue
        owner = _owner(sh, phone)
        uid = 2000 if owner == "shell" else 0
        if fmt is None:
            await io.print(
                f"  File: {p}\n  Size: {st.st_size}\t Blocks: {st.st_blocks}\t IO Blocks: 4096\t"
                f"{'directory' if stat_mod.S_ISDIR(st.st_mode) else 'regular file'}\n"
                f"Access: ({stat_mod.S_IMODE(st.st_mode):04o}/{_mode_string(st.st_mode)})\t"
                f"Uid: ({uid:5}/{owner:>8})\tGid: ({uid:5}/{owner:>8})\n"
            )
            continue
        values = {
            "s": str(st.st_size),
            "a": f"{stat_mod.S_IMODE(st.st_mode):o}",
            "A": _mode_string(st.st_mode),
            "n": p,
            "N": f"'{p}'",
            "Y": str(int(st.st_mtime)),
            "X": str(int(st.st_atime)),
            "u": str(uid),
            "U": owner,
            "g": str(uid),
            "G": owner,
            "F": "directory" if stat_mod.S_ISDIR(st.st_mode) else "regular file",
            "b": str(st.st_blocks),
            "B": "512",
            "f": f"{st.st_mode:x}",
            "h": str(st.st_nlink),
            "i": str(st.st_ino),
            "%": "%",
        }
        await io.print(_format_stat(fmt, values) + "\n")
    return status


def _format_stat(fmt: str, values: dict[str, str]) -> str:
    return re.sub(r"%(.)", lambda m: values.get(m.group(1), m.group(0)), fmt)


@command("df")
async def _df(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _ = split_flags(argv, "hkPa")
    total = sh.device.profile.storage_kb
    used = total * 43 // 100
    mounts = [
        ("/dev/block/dm-0", 5_177_344, 5_157_312, "/"),
        ("tmpfs", sh.device.profile.mem_total_kb // 2, 1_204, "/dev"),
        ("/dev/block/dm-5", total, used, "/data"),
    ]

    def human(kb: int) -> str:
        v = float(kb)
        for unit in ("K", "M", "G", "T"):
            if v < 1024 or unit == "T":
                return f"{v:.1f}{unit}" if v < 10 and unit != "K" else f"{round(v)}{unit}"
            v /= 1024
        return f"{kb}K"

    if "h" in flags:
        lines = ["Filesystem        Size Used Avail Use% Mounted on\n"]
        for fs, size, u, mnt in mounts:
            lines.append(
                f"{fs:<16} {human(size):>5} {human(u):>4} {human(size - u):>5} {100 * u // size:>3}% {mnt}\n"
            )
    else:
        lines = ["Filesystem      1K-blocks    Used Available Use% Mounted on\n"]
        for fs, size, u, mnt in mounts:
            lines.append(f"{fs:<15} {size:>9} {u:>7} {size - u:>9} {100 * u // size:>3}% {mnt}\n")
    await io.print("".join(lines))
    return 0


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
            data += _open_read(sh, "grep", f)
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
    data = b"".join(_open_read(sh, argv[0], f) for f in files) if files else await io.stdin.read_all()
    lines = data.splitlines(keepends=True)
    await io.out(b"".join(lines[:n] if argv[0] == "head" else lines[-n:] if n else []))
    return 0


@command("wc")
async def _wc(sh: Shell, argv: list[str], io: IO) -> int:
    flags, files = split_flags(argv, "lcw")
    data = b"".join(_open_read(sh, "wc", f) for f in files) if files else await io.stdin.read_all()
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
for _family in ("builtins", "files", "system", "text"):
    importlib.import_module(f"device_agent.virtual.sh.{_family}")
