# One file (over 600 lines): toybox's text family, one function per command, sharing the same flag and file helpers.
"""Text commands of toybox: printf, tr, sort, uniq, cut, base64, env, seq, basename, dirname,
xargs, and the common subset of sed and awk that Android scripts use.

Linear in their input: each line is handled once; regular expressions come from the
command line (a phone's own user), as on a real phone.
"""

from __future__ import annotations

import base64 as b64
import binascii
import re
from typing import TYPE_CHECKING

from device_agent.virtual.sh.api import IO, SH, CmdError, command, open_read, split_flags, strerror

if TYPE_CHECKING:
    from device_agent.virtual.shell import Shell


async def _input(sh: Shell, name: str, files: list[str], io: IO) -> bytes:
    if not files or files == ["-"]:
        return await io.stdin.read_all()
    return b"".join(open_read(sh, name, f) for f in files)


def _unescape(text: str, *, octal_prefix: bool = False) -> tuple[str, bool]:
    """Backslash escapes as printf/echo -e read them; second value: \\c seen (stop output)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "\\" or i + 1 >= len(text):
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        simple = {
            "n": "\n",
            "t": "\t",
            "r": "\r",
            "\\": "\\",
            "a": "\a",
            "b": "\b",
            "f": "\f",
            "v": "\v",
            "e": "\x1b",
        }
        if nxt in simple:
            out.append(simple[nxt])
            i += 2
        elif nxt == "c":
            return "".join(out), True
        elif nxt == "x":
            m = re.match(r"[0-9a-fA-F]{1,2}", text[i + 2 :])
            if m:
                out.append(chr(int(m.group(), 16)))
                i += 2 + len(m.group())
            else:
                out.append("\\x")
                i += 2
        elif nxt in "01234567":
            start = i + 1 + (1 if octal_prefix and nxt == "0" else 0)
            m = re.match(r"[0-7]{1,3}", text[start:])
            digits = m.group() if m else "0"
            out.append(chr(int(digits, 8)))
            i = start + (len(m.group()) if m else 0)
        else:
            out.append("\\" + nxt)
            i += 2
    return "".join(out), False


_SPEC = re.compile(r"%([-+ #0]*)(\*|\d+)?(?:\.(\*|\d+))?([diouxXeEfgGcsb%])")


def _num(value: str) -> int:
    v = value.strip()
    if v[:1] in ("'", '"'):
        return ord(v[1]) if len(v) > 1 else 0
    try:
        return int(v, 0) if v.lower().startswith(("0x", "-0x")) else int(v or "0")
    except ValueError:
        raise CmdError(f"printf: invalid number '{value}'\n") from None


@command("printf")
async def _printf(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) < 2:
        raise CmdError('printf: Needs 1 argument (see "printf --help")\n')
    fmt, args = argv[1], argv[2:]
    out: list[str] = []
    first = True
    while first or args:
        used = False
        stop = False
        pos = 0
        for m in _SPEC.finditer(fmt):
            text, stop = _unescape(fmt[pos : m.start()])
            out.append(text)
            pos = m.end()
            if stop:
                break
            flags, width, prec, conv = m.groups()
            if conv == "%":
                out.append("%")
                continue
            if width == "*":
                width = str(_num(args.pop(0))) if args else "0"
            if prec == "*":
                prec = str(_num(args.pop(0))) if args else "0"
            arg = args.pop(0) if args else ""
            used = True
            spec = "%" + flags + (width or "") + (f".{prec}" if prec is not None else "")
            if conv == "s":
                out.append((spec + "s") % arg)
            elif conv == "b":
                text, stop = _unescape(arg, octal_prefix=True)
                out.append((spec + "s") % text)
                if stop:
                    break
            elif conv == "c":
                out.append((spec + "s") % arg[:1])
            elif conv in "diouxX":
                out.append((spec + ("d" if conv in "iu" else conv)) % _num(arg) if arg else (spec + "d") % 0)
            else:
                try:
                    out.append((spec + conv) % float(arg or 0))
                except ValueError:
                    raise CmdError(f"printf: invalid number '{arg}'\n") from None
        if not stop:
            text, stop = _unescape(fmt[pos:])
            out.append(text)
        first = False
        if stop or not used:
            break
    await io.print("".join(out))
    return 0


def _tr_set(spec: str) -> str:
    text, _ = _unescape(spec)
    classes = {
        "[:upper:]": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "[:lower:]": "abcdefghijklmnopqrstuvwxyz",
        "[:digit:]": "0123456789",
        "[:space:]": " \t\n\r\f\v",
        "[:alpha:]": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        "[:alnum:]": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    }
    for k, v in classes.items():
        text = text.replace(k, v)
    out: list[str] = []
    i = 0
    while i < len(text):
        if i + 2 < len(text) and text[i + 1] == "-":
            out.extend(chr(c) for c in range(ord(text[i]), ord(text[i + 2]) + 1))
            i += 3
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


@command("tr")
async def _tr(sh: Shell, argv: list[str], io: IO) -> int:
    flags, sets = split_flags(argv, "dscC")
    if not sets:
        raise CmdError('tr: Needs 1 argument (see "tr --help")\n')
    data = (await io.stdin.read_all()).decode("latin-1")
    a = _tr_set(sets[0])
    if "d" in flags:
        data = data.translate({ord(c): None for c in a})
    elif len(sets) > 1:
        b = _tr_set(sets[1])
        b = b + b[-1:] * (len(a) - len(b)) if b else ""
        data = data.translate({ord(x): y for x, y in zip(a, b, strict=False)})
        if "s" in flags:
            for c in set(b):
                data = re.sub(re.escape(c) + "{2,}", c, data)
    elif "s" in flags:
        for c in set(a):
            data = re.sub(re.escape(c) + "{2,}", c, data)
    await io.out(data.encode("latin-1"))
    return 0


def _lines(data: bytes) -> list[str]:
    text = data.decode("utf-8", "surrogateescape")
    return text.splitlines()


@command("sort")
async def _sort(sh: Shell, argv: list[str], io: IO) -> int:
    args = list(argv)
    key_field = None
    sep = None
    rest = [args[0]]
    it = iter(args[1:])
    for a in it:
        if a == "-k" or (a.startswith("-k") and len(a) > 2):
            spec = a[2:] if len(a) > 2 else next(it, "1")
            key_field = int(re.match(r"\d+", spec).group()) if re.match(r"\d+", spec) else 1  # type: ignore[union-attr]
        elif a == "-t" or (a.startswith("-t") and len(a) > 2):
            sep = a[2:] if len(a) > 2 else next(it, " ")
        else:
            rest.append(a)
    flags, files = split_flags(rest, "nrufbhsVc")
    lines = _lines(await _input(sh, "sort", files, io))

    def key(line: str) -> object:
        field = line
        if key_field is not None:
            parts = line.split(sep) if sep else line.split()
            field = parts[key_field - 1] if key_field - 1 < len(parts) else ""
        if "f" in flags:
            field = field.lower()
        if "n" in flags or "h" in flags:
            m = re.match(r"\s*(-?\d+(?:\.\d+)?)", field)
            return (float(m.group(1)) if m else 0.0, line)
        return field

    lines.sort(key=key, reverse="r" in flags)  # type: ignore[arg-type]
    if "u" in flags:
        seen: set[object] = set()
        uniq = []
        for ln in lines:
            k = key(ln)
            if k not in seen:
                seen.add(k)
                uniq.append(ln)
        lines = uniq
    await io.print("".join(ln + "\n" for ln in lines))
    return 0


@command("uniq")
async def _uniq(sh: Shell, argv: list[str], io: IO) -> int:
    flags, files = split_flags(argv, "cdui")
    lines = _lines(await _input(sh, "uniq", files[:1], io))
    groups: list[tuple[str, int]] = []
    for ln in lines:
        if groups and (groups[-1][0] == ln or ("i" in flags and groups[-1][0].lower() == ln.lower())):
            groups[-1] = (groups[-1][0], groups[-1][1] + 1)
        else:
            groups.append((ln, 1))
    out = []
    for ln, n in groups:
        if ("d" in flags and n < 2) or ("u" in flags and n > 1):
            continue
        out.append(f"{n:7} {ln}\n" if "c" in flags else ln + "\n")
    await io.print("".join(out))
    return 0


@command("cut")
async def _cut(sh: Shell, argv: list[str], io: IO) -> int:
    delim, fields, chars = "\t", None, None
    files = []
    it = iter(argv[1:])
    for a in it:
        if a.startswith("-d"):
            delim = a[2:] or next(it, "\t")
        elif a.startswith("-f"):
            fields = a[2:] or next(it, "")
        elif a.startswith("-c") or a.startswith("-b"):
            chars = a[2:] or next(it, "")
        elif a == "-s":
            continue
        else:
            files.append(a)
    spec = fields or chars
    if not spec:
        raise CmdError("cut: Needs -fcb\n")
    wanted: list[tuple[int, int]] = []
    for part in spec.split(","):
        lo, dash, hi = part.partition("-")
        wanted.append((int(lo or 1), int(hi) if hi else (1 << 30 if dash else int(lo or 1))))
    out = []
    for ln in _lines(await _input(sh, "cut", files, io)):
        items = ln.split(delim) if fields else list(ln)
        picked = [x for i, x in enumerate(items, 1) if any(lo <= i <= hi for lo, hi in wanted)]
        out.append((delim if fields else "").join(picked) + "\n")
    await io.print("".join(out))
    return 0


@command("base64")
async def _base64(sh: Shell, argv: list[str], io: IO) -> int:
    wrap = 76
    rest = [argv[0]]
    it = iter(argv[1:])
    for a in it:
        if a == "-w":
            wrap = int(next(it, "76"))
        elif a.startswith("-w"):
            wrap = int(a[2:])
        else:
            rest.append(a)
    flags, files = split_flags(rest, "di")
    data = await _input(sh, "base64", files, io)
    if "d" in flags:
        try:
            await io.out(b64.b64decode(b"".join(data.split()), validate=False))
        except (binascii.Error, ValueError):
            raise CmdError("base64: bad input\n") from None
        return 0
    enc = b64.b64encode(data)
    if wrap:
        enc = b"\n".join(enc[i : i + wrap] for i in range(0, len(enc), wrap)) + (b"\n" if enc else b"")
    await io.out(enc)
    return 0


@command("env")
async def _env(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    env = dict(sh.vars)
    if args and args[0] in ("-i", "-"):
        env, args = {}, args[1:]
    while args and "=" in args[0] and not args[0].startswith("="):
        k, _, v = args.pop(0).partition("=")
        env[k] = v
    if not args:
        await io.print("".join(f"{k}={v}\n" for k, v in sorted(env.items())))
        return 0
    saved = sh.vars
    sh.vars = env
    try:
        return await sh.dispatch(args, io)
    finally:
        sh.vars = saved


@command("seq")
async def _seq(sh: Shell, argv: list[str], io: IO) -> int:
    nums = [a for a in argv[1:] if not (a.startswith("-") and not a[1:].isdecimal())]
    try:
        vals = [int(x) for x in nums]
    except ValueError:
        raise CmdError(f"seq: invalid number '{nums}'\n") from None
    if len(vals) == 1:
        lo, step, hi = 1, 1, vals[0]
    elif len(vals) == 2:
        lo, step, hi = vals[0], 1, vals[1]
    elif len(vals) == 3:
        lo, step, hi = vals
    else:
        raise CmdError('seq: Needs 1 argument (see "seq --help")\n')
    if step == 0 or abs(hi - lo) // abs(step) > 1_000_000:
        raise CmdError("seq: too many numbers\n")
    await io.print("".join(f"{i}\n" for i in range(lo, hi + (1 if step > 0 else -1), step)))
    return 0


@command("basename")
async def _basename(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) < 2:
        raise CmdError('basename: Needs 1 argument (see "basename --help")\n')
    name = argv[1].rstrip("/").rsplit("/", 1)[-1] or "/"
    if len(argv) > 2 and name.endswith(argv[2]) and name != argv[2]:
        name = name[: -len(argv[2])]
    await io.print(name + "\n")
    return 0


@command("dirname")
async def _dirname(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) < 2:
        raise CmdError('dirname: Needs 1 argument (see "dirname --help")\n')
    path = argv[1].rstrip("/")
    head = path.rsplit("/", 1)[0] if "/" in path else "."
    await io.print((head or "/") + "\n")
    return 0


@command("xargs")
async def _xargs(sh: Shell, argv: list[str], io: IO) -> int:
    per, replace, delim = 0, None, None
    cmd: list[str] = []
    it = iter(argv[1:])
    for a in it:
        if cmd:
            cmd.append(a)
        elif a == "-n":
            per = int(next(it, "0"))
        elif a.startswith("-n") and a[2:].isdecimal():
            per = int(a[2:])
        elif a == "-I":
            replace = next(it, "{}")
        elif a == "-0":
            delim = "\0"
        elif a in ("-r", "-t"):
            continue
        else:
            cmd.append(a)
    cmd = cmd or ["echo"]
    data = (await io.stdin.read_all()).decode("utf-8", "surrogateescape")
    items = [x for x in data.split(delim)] if delim else data.split()
    items = [x for x in items if x]
    if replace is not None:
        batches = [[x] for x in data.splitlines() if x]
    elif per:
        batches = [items[i : i + per] for i in range(0, len(items), per)]
    else:
        batches = [items] if items else []
    status = 0
    for batch in batches:
        run = [c.replace(replace, batch[0]) for c in cmd] if replace is not None else cmd + batch
        rc = await sh.dispatch(run, io)
        if rc:
            status = 123 if rc < 125 else rc
    return status


def _sed_script(exprs: list[str]) -> list[tuple[object, str, tuple[str, str, str]]]:
    """Each command: (address, op, args). Address: None, int, '$' or a compiled regex."""
    cmds: list[tuple[object, str, tuple[str, str, str]]] = []
    for expr in exprs:
        for part in _split_sed(expr):
            part = part.strip()
            if not part:
                continue
            addr: object = None
            m = re.match(r"(\d+|\$|/((?:\\.|[^/])*)/)", part)
            if m:
                a = m.group(1)
                addr = int(a) if a.isdecimal() else "$" if a == "$" else re.compile(_bre(m.group(2)))
                part = part[m.end() :].lstrip()
            op = part[:1]
            if op == "s":
                d = part[1:2]
                pieces = re.split(r"(?<!\\)" + re.escape(d), part[2:])
                if len(pieces) < 3:
                    raise CmdError(f"sed: bad regex '{part}'\n")
                cmds.append((addr, "s", (pieces[0], pieces[1], pieces[2])))
            elif op in ("d", "p", "q"):
                cmds.append((addr, op, ("", "", "")))
            else:
                raise CmdError(f"sed: Unknown command '{part}'\n")
    return cmds


def _split_sed(expr: str) -> list[str]:
    parts, cur, depth = [], [], 0
    i = 0
    while i < len(expr):
        ch = expr[i]
        if ch == "\\" and i + 1 < len(expr):
            cur.append(expr[i : i + 2])
            i += 2
            continue
        if ch in ";\n" and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


def _bre(pattern: str) -> str:
    """Basic regular expression → Python: \\( \\) \\{ \\} \\+ \\? are the operators."""
    out = pattern
    for a, b in (
        ("\\(", "\0a"),
        ("\\)", "\0b"),
        ("\\{", "\0c"),
        ("\\}", "\0d"),
        ("\\+", "\0e"),
        ("\\?", "\0f"),
    ):
        out = out.replace(a, b)
    out = re.sub(r"(?<!\\)([(){}+?|])", r"\\\1", out)
    for a, b in (("(", "\0a"), (")", "\0b"), ("{", "\0c"), ("}", "\0d"), ("+", "\0e"), ("?", "\0f")):
        out = out.replace(b, a)
    return out


@command("sed")
async def _sed(sh: Shell, argv: list[str], io: IO) -> int:
    exprs: list[str] = []
    quiet = inplace = extended = False
    files: list[str] = []
    it = iter(argv[1:])
    for a in it:
        if a == "-e":
            exprs.append(next(it, ""))
        elif a == "-n":
            quiet = True
        elif a in ("-i", "--in-place"):
            inplace = True
        elif a in ("-E", "-r"):
            extended = True
        elif a.startswith("-") and len(a) > 1 and set(a[1:]) <= set("nirE"):
            quiet, inplace, extended = (
                quiet or "n" in a,
                inplace or "i" in a,
                extended or bool(set(a) & set("rE")),
            )
        elif not exprs and not files:
            exprs.append(a)
        else:
            files.append(a)
    script = _sed_script(exprs)
    compiled: list[tuple[object, str, tuple[re.Pattern[str] | None, str, int, bool]]] = []
    for addr, op, (pat, rep, fl) in script:
        if op == "s":
            rx = re.compile(pat if extended else _bre(pat), re.I if "I" in fl or "i" in fl else 0)
            repl = re.sub(r"\\(\d)", r"\\g<\1>", rep.replace("&", "\\g<0>").replace("\\\\g<0>", "&"))
            count = 0 if "g" in fl else 1
            compiled.append((addr, op, (rx, repl, count, "p" in fl)))
        else:
            compiled.append((addr, op, (None, "", 0, False)))

    def apply(data: bytes) -> str:
        lines = _lines(data)
        out: list[str] = []
        for n, line in enumerate(lines, 1):
            last = n == len(lines)
            deleted = False
            for addr, op, (rx, repl, count, pflag) in compiled:
                if addr is not None and not (
                    addr == n
                    or (addr == "$" and last)
                    or (isinstance(addr, re.Pattern) and addr.search(line))
                ):
                    continue
                if op == "s" and rx is not None:
                    new, k = rx.subn(repl, line, count=count)
                    line = new
                    if k and pflag:
                        out.append(line)
                elif op == "d":
                    deleted = True
                    break
                elif op == "p":
                    out.append(line)
                elif op == "q":
                    if not quiet:
                        out.append(line)
                    return "".join(x + "\n" for x in out)
            if not deleted and not quiet:
                out.append(line)
        return "".join(x + "\n" for x in out)

    if inplace:
        for f in files:
            host = sh.device.resolve(f, cwd=sh.cwd, write=True)
            out = apply(open_read(sh, "sed", f)).encode("utf-8", "surrogateescape")
            try:
                sh.device.quota.charge(len(out))
            except OSError as exc:
                raise CmdError(f"sed: {f}: {strerror(exc)}\n") from None
            host.write_bytes(out)
        return 0
    await io.print(apply(await _input(sh, "sed", files, io)))
    return 0


@command("awk")
async def _awk(sh: Shell, argv: list[str], io: IO) -> int:
    """The one-liners scripts use: [-F SEP] '[/re/|NR==N|$N==v] { print $1, $3 }' and
    'END { print NR }'. Anything more answers an error rather than a wrong result."""
    sep = None
    prog = None
    files: list[str] = []
    it = iter(argv[1:])
    for a in it:
        if a == "-F":
            sep = next(it, " ")
        elif a.startswith("-F"):
            sep = a[2:]
        elif prog is None:
            prog = a
        else:
            files.append(a)
    if prog is None:
        raise CmdError("awk: no program\n")
    sep = None if sep in (None, " ") else sep.replace("\\t", "\t")
    rules = []
    for m in re.finditer(
        r"\s*(BEGIN|END|/(?:\\.|[^/])*/|NR\s*==\s*\d+|\$\d+\s*==\s*\"[^\"]*\")?\s*\{([^}]*)\}", prog
    ):
        rules.append((m.group(1) or "", m.group(2).strip()))
    if not rules and re.fullmatch(r"\s*/(?:\\.|[^/])*/\s*", prog):
        rules = [(prog.strip(), "print")]
    if not rules:
        raise CmdError(f"awk: unsupported program '{prog}'\n", 2)

    def render(action: str, fields: list[str], line: str, nr: int) -> str | None:
        action = action.strip().rstrip(";")
        if action in ("print", "print $0", ""):
            return line
        m = re.fullmatch(r"print\s+(.*)", action)
        if not m:
            raise CmdError(f"awk: unsupported action '{action}'\n", 2)
        out = []
        for item in re.split(r"\s*,\s*", m.group(1)):
            item = item.strip()
            if item == "NR":
                out.append(str(nr))
            elif item == "NF":
                out.append(str(len(fields)))
            elif item.startswith("$") and item[1:].isdecimal():
                i = int(item[1:])
                out.append(line if i == 0 else fields[i - 1] if i <= len(fields) else "")
            elif item.startswith("$NF"):
                out.append(fields[-1] if fields else "")
            elif item.startswith('"') and item.endswith('"'):
                out.append(item[1:-1])
            else:
                raise CmdError(f"awk: unsupported expression '{item}'\n", 2)
        return " ".join(out)

    lines = _lines(await _input(sh, "awk", files, io))
    out: list[str] = []
    nr = 0
    for cond, action in rules:
        if cond == "BEGIN":
            r = render(action, [], "", 0)
            if r is not None:
                out.append(r)
    for nr, line in enumerate(lines, 1):
        fields = line.split(sep) if sep else line.split()
        for cond, action in rules:
            if cond in ("BEGIN", "END"):
                continue
            if cond.startswith("/") and not re.search(cond[1:-1], line):
                continue
            if cond.startswith("NR") and int(cond.split("==")[1]) != nr:
                continue
            if cond.startswith("$"):
                idx, val = cond[1:].split("==", 1)
                i = int(idx.strip())
                if (fields[i - 1] if 0 < i <= len(fields) else line if i == 0 else "") != val.strip().strip(
                    '"'
                ):
                    continue
            r = render(action, fields, line, nr)
            if r is not None:
                out.append(r)
    for cond, action in rules:
        if cond == "END":
            r = render(action, [], "", nr)
            if r is not None:
                out.append(r)
    await io.print("".join(x + "\n" for x in out))
    return 0


_ = SH
