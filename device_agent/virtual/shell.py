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
import os
import posixpath
import re
import stat as stat_mod
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from device_agent.virtual.device import VirtualDevice

SH = "/system/bin/sh"
Writer = Callable[[bytes], Awaitable[None]]

# ---- tokens and syntax tree -------------------------------------------------------------------


@dataclass
class Seg:
    text: str
    quoted: bool = False
    kind: str = "lit"  # lit, var, cmd


@dataclass
class Word:
    segs: list[Seg] = field(default_factory=list)


@dataclass
class Redir:
    fd: int
    op: str  # >, >>, <, >&
    target: Word


@dataclass
class Command:
    words: list[Word] = field(default_factory=list)
    redirs: list[Redir] = field(default_factory=list)
    assigns: list[tuple[str, Word]] = field(default_factory=list)


@dataclass
class Pipeline:
    commands: list[Command]
    negate: bool = False


@dataclass
class AndOr:
    first: Pipeline
    rest: list[tuple[str, Pipeline]] = field(default_factory=list)


class ShellSyntaxError(Exception):
    pass


OPERATORS = ("&&", "||", ";;", ">>", ">&", "<&", ";", "&", "|", ">", "<", "\n", "(", ")")
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def tokenize(src: str) -> list[Word | str]:
    """Words (with quoting kept per segment) and operator strings."""
    out: list[Word | str] = []
    i, n = 0, len(src)
    word: Word | None = None

    def lit(text: str, quoted: bool) -> None:
        nonlocal word
        if word is None:
            word = Word()
        if word.segs and word.segs[-1].kind == "lit" and word.segs[-1].quoted == quoted:
            word.segs[-1].text += text
        else:
            word.segs.append(Seg(text, quoted))

    def end_word() -> None:
        nonlocal word
        if word is not None:
            out.append(word)
            word = None

    def dollar(j: int, quoted: bool) -> int:
        """Parse a $-expansion at src[j] == '$'; returns the index after it."""
        nonlocal word
        if word is None:
            word = Word()
        if j + 1 >= n:
            lit("$", quoted)
            return j + 1
        c = src[j + 1]
        if c == "(":
            depth, k = 1, j + 2
            while k < n and depth:
                if src[k] == "(":
                    depth += 1
                elif src[k] == ")":
                    depth -= 1
                elif src[k] in "'\"":
                    q = src[k]
                    k = src.find(q, k + 1)
                    if k < 0:
                        raise ShellSyntaxError("unterminated quote")
                k += 1
            if depth:
                raise ShellSyntaxError("unexpected EOF while looking for matching ')'")
            word.segs.append(Seg(src[j + 2 : k - 1], quoted, "cmd"))
            return k
        if c == "{":
            k = src.find("}", j + 2)
            if k < 0:
                raise ShellSyntaxError("missing }")
            word.segs.append(Seg(src[j + 2 : k], quoted, "var"))
            return k + 1
        if c in "?$#!@*0123456789-":
            word.segs.append(Seg(c, quoted, "var"))
            return j + 2
        m = NAME_RE.match(src, j + 1)
        if m:
            word.segs.append(Seg(m.group(), quoted, "var"))
            return m.end()
        lit("$", quoted)
        return j + 1

    while i < n:
        c = src[i]
        if c == "\\":
            if i + 1 < n and src[i + 1] == "\n":
                i += 2
                continue
            lit(src[i + 1] if i + 1 < n else "\\", True)
            i += 2
        elif c == "'":
            k = src.find("'", i + 1)
            if k < 0:
                raise ShellSyntaxError("unterminated '")
            lit(src[i + 1 : k], True)
            i = k + 1
        elif c == '"':
            i += 1
            if word is None:
                word = Word()
            lit("", True)
            while True:
                if i >= n:
                    raise ShellSyntaxError('unterminated "')
                c2 = src[i]
                if c2 == '"':
                    i += 1
                    break
                if c2 == "\\" and i + 1 < n and src[i + 1] in '$`"\\\n':
                    if src[i + 1] != "\n":
                        lit(src[i + 1], True)
                    i += 2
                elif c2 == "$":
                    i = dollar(i, True)
                else:
                    lit(c2, True)
                    i += 1
        elif c == "$":
            i = dollar(i, False)
        elif c == "`":
            k = src.find("`", i + 1)
            if k < 0:
                raise ShellSyntaxError("unterminated `")
            if word is None:
                word = Word()
            word.segs.append(Seg(src[i + 1 : k], False, "cmd"))
            i = k + 1
        elif c in " \t":
            end_word()
            i += 1
        elif c == "#" and word is None:
            while i < n and src[i] != "\n":
                i += 1
        else:
            op = next((o for o in OPERATORS if src.startswith(o, i)), None)
            if op is None:
                lit(c, False)
                i += 1
                continue
            # `2>file`, `2>&1`: an unquoted all-digit word right before a redirection is its fd
            if op[0] in "<>" and word is not None and len(word.segs) == 1:
                s = word.segs[0]
                if s.kind == "lit" and not s.quoted and s.text.isdigit():
                    word = None
                    out.append(f"{s.text}{op}")
                    i += len(op)
                    continue
            end_word()
            out.append(op)
            i += len(op)
    end_word()
    return out


def parse(src: str) -> list[tuple[AndOr, bool]]:
    """A list of and-or lists, each with whether it ends in `&` (background)."""
    toks = tokenize(src)
    pos = 0
    result: list[tuple[AndOr, bool]] = []

    def peek() -> Word | str | None:
        return toks[pos] if pos < len(toks) else None

    def parse_command() -> Command:
        nonlocal pos
        cmd = Command()
        while True:
            t = peek()
            if isinstance(t, Word):
                pos += 1
                first = t.segs[0] if t.segs else None
                if (
                    not cmd.words
                    and first is not None
                    and first.kind == "lit"
                    and not first.quoted
                    and (m := re.match(r"([A-Za-z_][A-Za-z0-9_]*)=", first.text))
                ):
                    rest = Word([Seg(first.text[m.end() :], False), *t.segs[1:]])
                    cmd.assigns.append((m.group(1), rest))
                else:
                    cmd.words.append(t)
            elif isinstance(t, str) and re.fullmatch(r"\d*(>>|>&|<&|>|<)", t):
                pos += 1
                m = re.fullmatch(r"(\d*)(.*)", t)
                assert m is not None
                op = m.group(2)
                fd = int(m.group(1)) if m.group(1) else (0 if op.startswith("<") else 1)
                target = peek()
                if not isinstance(target, Word):
                    raise ShellSyntaxError(f"{target or 'newline'} unexpected")
                pos += 1
                cmd.redirs.append(Redir(fd, op, target))
            else:
                break
        if not cmd.words and not cmd.assigns and not cmd.redirs:
            t = peek()
            raise ShellSyntaxError(
                f"'{t if t != chr(10) else 'newline'}' unexpected" if t else "unexpected EOF"
            )
        return cmd

    def parse_pipeline() -> Pipeline:
        nonlocal pos
        negate = False
        t = peek()
        if isinstance(t, Word) and len(t.segs) == 1 and t.segs[0].text == "!" and not t.segs[0].quoted:
            negate = True
            pos += 1
        cmds = [parse_command()]
        while peek() == "|":
            pos += 1
            while peek() == "\n":
                pos += 1
            cmds.append(parse_command())
        return Pipeline(cmds, negate)

    while pos < len(toks):
        t = peek()
        if t in (";", "\n"):
            if t == ";" and not result:
                raise ShellSyntaxError("';' unexpected")
            pos += 1
            continue
        andor = AndOr(parse_pipeline())
        while peek() in ("&&", "||"):
            op = str(toks[pos])
            pos += 1
            while peek() == "\n":
                pos += 1
            andor.rest.append((op, parse_pipeline()))
        bg = False
        t = peek()
        if t == "&":
            bg = True
            pos += 1
        elif t is not None and t not in (";", "\n"):
            raise ShellSyntaxError(f"'{t}' unexpected")
        result.append((andor, bg))
    return result


# ---- execution ----------------------------------------------------------------------------------


class ExitShell(Exception):
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
    stdin: bytes | None = None

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

    def __init__(self, device: VirtualDevice, stdout: Writer, stderr: Writer, *, pty: bool = False) -> None:
        self.device = device
        self.pty = pty
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
        self.pid = 10000 + (os.getpid() % 20000)
        if pty:
            self.io = IO(self._crlf(stdout), self._crlf(stderr))
        else:
            self.io = IO(stdout, stderr)

    @staticmethod
    def _crlf(w: Writer) -> Writer:
        async def write(data: bytes) -> None:
            await w(data.replace(b"\n", b"\r\n"))

        return write

    async def run(self, command: str) -> int:
        try:
            return await self.run_script(command, self.io)
        except ExitShell as e:
            return e.code

    async def run_script(self, src: str, io: IO) -> int:
        try:
            tree = parse(src)
        except ShellSyntaxError as exc:
            await io.eprint(f"{SH}: syntax error: {exc}\n")
            self.status = 1 if "unterminated" not in str(exc) else 2
            return self.status
        for andor, _bg in tree:
            self.status = await self.exec_andor(andor, io)
        return self.status

    async def exec_andor(self, a: AndOr, io: IO) -> int:
        status = await self.exec_pipeline(a.first, io)
        for op, p in a.rest:
            if (op == "&&" and status == 0) or (op == "||" and status != 0):
                status = await self.exec_pipeline(p, io)
            self.status = status
        return status

    async def exec_pipeline(self, p: Pipeline, io: IO) -> int:
        stdin = io.stdin
        status = 0
        for i, cmd in enumerate(p.commands):
            last = i == len(p.commands) - 1
            if last:
                status = await self.exec_command(cmd, IO(io.out, io.err, stdin))
            else:
                buf = bytearray()

                async def collect(data: bytes, buf: bytearray = buf) -> None:
                    buf.extend(data)

                await self.exec_command(cmd, IO(collect, io.err, stdin))
                stdin = bytes(buf)
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
        if name in ("#", "0"):
            return "0" if name == "#" else SH
        if name in ("@", "*", "!", "-") or name.isdigit():
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
            else:
                buf = bytearray()

                async def collect(data: bytes, buf: bytearray = buf) -> None:
                    buf.extend(data)

                sub = Shell(self.device, collect, self.io.err)
                sub.vars, sub.cwd, sub.status = dict(self.vars), self.cwd, self.status
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
        for w in cmd.words:
            argv.extend(await self.expand(w))
        assigned = {name: " ".join(await self.expand(value, split=False)) for name, value in cmd.assigns}
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
            if r.op == "<":
                try:
                    stdin = self.device.resolve(target, cwd=self.cwd).read_bytes()
                except OSError as exc:
                    raise CmdError(f"{SH}: can't open {target}: {_strerror(exc)}\n") from None
                continue
            if target == "/dev/null":
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
        handler = COMMANDS.get(name)
        if handler is None:
            await io.eprint(f"{SH}: {name}: inaccessible or not found\n")
            return 127
        return await handler(self, argv, io)

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
            return await benchmark_tool.run(self.device, argv, io, cwd=self.cwd)
        if head.startswith(b"\x7fELF"):
            refusal = as_real.exec_refusal(self.device, head)  # None: an ELF for this phone's ABIs
            if refusal is None:
                return await benchmark_tool.run(self.device, argv, io, cwd=self.cwd)
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
        sub = Shell(self.device, io.out, io.err)
        sub.cwd = self.cwd
        try:
            return await sub.run_script(host.read_bytes().decode("utf-8", "surrogateescape"), io)
        except ExitShell as e:
            return e.code


def _glob_key(p: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p)]


# ---- toybox and builtins ------------------------------------------------------------------------

Handler = Callable[[Shell, list[str], IO], Awaitable[int]]
COMMANDS: dict[str, Handler] = {}


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
        sub = Shell(sh.device, io.out, io.err)
        sub.cwd = sh.cwd
        try:
            return await sub.run_script(argv[2], io)
        except ExitShell as e:
            return e.code
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


@command("setprop")
async def _setprop(sh: Shell, argv: list[str], io: IO) -> int:
    await io.eprint(
        "Failed to set property '" + (argv[1] if len(argv) > 1 else "") + "'. See dmesg for error reason.\n"
    )
    return 1


def _open_read(sh: Shell, cmd: str, path: str) -> bytes:
    try:
        host = sh.device.resolve(path, cwd=sh.cwd)
        if host.is_dir():
            raise CmdError(f"{cmd}: {path}: Is a directory\n")
        return host.read_bytes()
    except OSError as exc:
        raise CmdError(f"{cmd}: {path}: {_strerror(exc)}\n") from None


async def _each_file(
    sh: Shell, name: str, files: list[str], io: IO, fn: Callable[[str, bytes], Awaitable[None]]
) -> int:
    status = 0
    files = files or ["-"]
    for path in files:
        if path == "-":
            await fn(path, io.stdin or b"")
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
                f"{owner} {owner} {size:>8} {ts} {name}\n"
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
    elif len(args) == 2 and args[0] in ("-e", "-f", "-d", "-x", "-r", "-w", "-s", "-n", "-z", "-L"):
        op, val = args
        if op == "-n":
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
        data = io.stdin or b""
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
    data = b"".join(_open_read(sh, argv[0], f) for f in files) if files else io.stdin or b""
    lines = data.splitlines(keepends=True)
    await io.out(b"".join(lines[:n] if argv[0] == "head" else lines[-n:] if n else []))
    return 0


@command("wc")
async def _wc(sh: Shell, argv: list[str], io: IO) -> int:
    flags, files = split_flags(argv, "lcw")
    data = b"".join(_open_read(sh, "wc", f) for f in files) if files else io.stdin or b""
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


@command("kill")
async def _kill(sh: Shell, argv: list[str], io: IO) -> int:
    return 0


@command("ps")
async def _ps(sh: Shell, argv: list[str], io: IO) -> int:
    await io.print(
        "USER           PID  PPID     VSZ    RSS WCHAN            ADDR S NAME\n"
        "root             1     0 10904608  7320 do_epoll_wait       0 S init\n"
        f"shell         {sh.pid:5}     1 10795376  3200 0                   0 R ps\n"
    )
    return 0


@command("cmd")
async def _cmd(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) >= 3 and argv[1] == "thermalservice":
        from device_agent.virtual import dumpsys

        return await dumpsys.run(sh.device, ["thermalservice"], io)
    if len(argv) >= 2 and argv[1] == "battery":
        return 0
    await io.eprint(f"cmd: Can't find service: {argv[1] if len(argv) > 1 else ''}\n")
    return 20
