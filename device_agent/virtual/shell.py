# One file (over 600 lines): the evaluator is one recursive interpreter over one Shell's state; syntax, arithmetic and commands are in sh/.
"""The virtual phone's /system/bin/sh: a small POSIX-sh interpreter with toybox-style commands.

Why an interpreter of our own: the farm sends real shell command lines to phones
(`cat a b 2>/dev/null`, `chmod 755 x && ./x --graph=...`), so the virtual phone must parse
them as Android's mksh does (quoting, `$?`, `;`/`&&`/`||`, redirections) and answer with
the same words and exit codes (127 not found, 126 cannot execute). It must also never be a
way into the host: nothing here calls a host shell or host program, and every path goes
through VirtualDevice.resolve(), which confines it to the phone's sandbox.

Layout: this module is the evaluator (expansion, redirections, pipelines, compound
commands, the process each command runs as) and the command registry; the syntax lives in
sh/syntax.py, arithmetic in sh/arith.py, and the commands in sh/ one module per family
(core, builtins, fs, files, text, info, system), registered into sh/api.py's COMMANDS when
imported here; a file executed as a program is looked up in sh/programs.py.
What is not implemented answers `/system/bin/sh: NAME: inaccessible or not found` with
status 127, as mksh does.
"""

from __future__ import annotations

import asyncio
import errno
import fnmatch
import os
import posixpath
import re
import stat as stat_mod
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from device_agent.virtual.sh import arith, programs

# The command families, imported for their registrations into sh.api.COMMANDS (no name is
# registered twice, so the order does not matter); they import sh.api, never this module.
from device_agent.virtual.sh import builtins as _builtins  # noqa: F401
from device_agent.virtual.sh import core as _core  # noqa: F401
from device_agent.virtual.sh import files as _files  # noqa: F401
from device_agent.virtual.sh import fs as _fs  # noqa: F401
from device_agent.virtual.sh import info as _info  # noqa: F401
from device_agent.virtual.sh import system as _system  # noqa: F401
from device_agent.virtual.sh import text as _text  # noqa: F401
from device_agent.virtual.sh.access import check_access
from device_agent.virtual.sh.api import (
    BUILTINS,
    COMMANDS,
    IO,
    SH,
    CmdError,
    ExitShell,
    LoopControl,
    ReturnFromFunction,
    Writer,
    strerror,
)
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


# ---- execution ----------------------------------------------------------------------------------


MAX_CALL_DEPTH = 100


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
                    raise CmdError(f"{SH}: can't open {target}: {strerror(exc)}\n") from None
                continue
            if target in ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"):
                w = _discard
            else:
                try:
                    host = self.device.resolve(target, cwd=self.cwd, write=True)
                    if host.is_dir():
                        raise IsADirectoryError(errno.EISDIR, "Is a directory")
                    if host.exists():  # the shell user's write bit, whoever runs the farm
                        check_access(host, "w", shell_owned=True)
                    fh = self.device.quota.open(host, "ab" if r.op == ">>" else "wb")
                except OSError as exc:
                    raise CmdError(f"{SH}: can't create {target}: {strerror(exc)}\n") from None
                opened.append(fh)

                async def w(data: bytes, fh: Any = fh) -> None:
                    try:
                        fh.write(data)
                        fh.flush()
                    except OSError as exc:  # ENOSPC past the storage budget, as on a full phone
                        raise CmdError(f"{SH}: write error: {strerror(exc)}\n") from None

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
        path = argv[0]
        try:
            host = self.device.resolve(path, cwd=self.cwd)
            st = host.stat()
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                await io.eprint(f"{SH}: {path}: inaccessible or not found\n")
                return 127
            await io.eprint(f"{SH}: {path}: can't execute: {strerror(exc)}\n")
            return 126
        if stat_mod.S_ISDIR(st.st_mode):
            await io.eprint(f"{SH}: {path}: can't execute: Is a directory\n")
            return 126
        if not st.st_mode & 0o111:
            await io.eprint(f"{SH}: {path}: can't execute: Permission denied\n")
            return 126
        with open(host, "rb") as fh:
            head = fh.read(4096)
        program = programs.find(self.device, head)  # a registered program (the benchmark tool), or a refusal
        if isinstance(program, str):
            await io.eprint(f"{SH}: {path}: {program}\n")
            return 126
        if program is not None:
            return await self.child(path, argv, program(self.device, argv, io, self.cwd))
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
        sub = self.child_shell(io)
        return await self.child(path, argv, sub.run(host.read_bytes().decode("utf-8", "surrogateescape")))

    def child_shell(self, io: IO) -> Shell:
        """A new `sh` as this shell's child (`sh -c`, a script): this cwd, fresh variables."""
        sub = Shell(self.device, io.out, io.err, stdin=io.stdin, ppid=self.pid)
        sub.cwd = self.cwd
        return sub


def _glob_key(p: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p)]
