"""File commands of toybox: dd, cp, mv, ln, find, du, chown/chgrp, tee, readlink, realpath.

Every path goes through VirtualDevice.resolve() (write=True for anything that changes a
file), so these stay inside the phone's sandbox and inside what the shell user may write.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import posixpath
import shutil
import stat as stat_mod
import time
from pathlib import Path
from typing import TYPE_CHECKING

from device_agent.virtual.sh.api import IO, CmdError, command, each_path, split_flags, strerror

if TYPE_CHECKING:
    from device_agent.virtual.sh.quota import QuotaFile
    from device_agent.virtual.shell import Shell

_UNITS = {"c": 1, "w": 2, "b": 512, "k": 1024, "m": 1 << 20, "g": 1 << 30}


def _size(text: str, what: str) -> int:
    t = text.strip().lower().removesuffix("b") if text.lower().endswith(("kb", "mb", "gb")) else text.lower()
    mult = 1
    if t and t[-1] in _UNITS:
        mult, t = _UNITS[t[-1]], t[:-1]
    if not t.isdecimal():
        raise CmdError(f"dd: invalid number '{text}'\n")
    return int(t) * mult


@command("dd")
async def _dd(sh: Shell, argv: list[str], io: IO) -> int:
    opts: dict[str, str] = {}
    for a in argv[1:]:
        k, eq, v = a.partition("=")
        if not eq or k not in (
            "if",
            "of",
            "bs",
            "ibs",
            "obs",
            "count",
            "skip",
            "seek",
            "status",
            "conv",
            "iflag",
            "oflag",
        ):
            raise CmdError(f"dd: unknown argument '{a}'\n")
        opts[k] = v
    bs = _size(opts.get("bs") or opts.get("ibs") or "512", "bs")
    if bs <= 0:
        raise CmdError("dd: bs must be positive\n")
    count = _size(opts["count"], "count") if "count" in opts else None
    skip = _size(opts.get("skip", "0"), "skip")
    seek = _size(opts.get("seek", "0"), "seek")
    src = opts.get("if")
    dev = sh.device.phone_path(src, sh.cwd) if src else None
    total = None if count is None else count * bs
    start = time.monotonic()

    data_iter: list[bytes] = []
    endless = dev in ("/dev/zero", "/dev/urandom", "/dev/random")
    if src and not endless:
        try:
            data = sh.read_file(src)[skip * bs :]
        except OSError as exc:
            raise CmdError(f"dd: {src}: {strerror(exc)}\n") from None
        data_iter = [data if total is None else data[:total]]
    elif not src:
        buf = await io.stdin.read_all()
        buf = buf[skip * bs :]
        data_iter = [buf if total is None else buf[:total]]
    # the output
    out_fh = None
    if "of" in opts:
        try:
            host = sh.device.resolve(opts["of"], cwd=sh.cwd, write=True)
            if host.is_dir():
                raise IsADirectoryError(21, "Is a directory")
            notrunc = "notrunc" in opts.get("conv", "")
            out_fh = sh.device.quota.open(host, "r+b" if notrunc and host.exists() else "wb")
            if seek:
                out_fh.seek(seek * bs)
        except OSError as exc:
            raise CmdError(f"dd: {opts['of']}: {strerror(exc)}\n") from None
    written = 0
    try:
        if endless:
            left = total if total is not None else 1 << 40
            while left > 0:
                n = min(left, max(bs, 1 << 16), 1 << 20)
                chunk = bytes(n) if dev == "/dev/zero" else os.urandom(n)
                if out_fh is not None:
                    out_fh.write(chunk)
                else:
                    await io.out(chunk)
                written += n
                left -= n
        else:
            for chunk in data_iter:
                if out_fh is not None:
                    out_fh.write(chunk)
                else:
                    await io.out(chunk)
                written += len(chunk)
    except OSError as exc:  # ENOSPC past the phone's storage budget
        raise CmdError(f"dd: {opts.get('of', '-')}: {strerror(exc)}\n") from None
    finally:
        if out_fh is not None:
            out_fh.close()
    if opts.get("status") != "none":
        full, part = divmod(written, bs)
        secs = max(time.monotonic() - start, 1e-6)
        await io.eprint(
            f"{full}+{1 if part else 0} records in\n{full}+{1 if part else 0} records out\n"
            f"{written} bytes ({_human(written)}) copied, {secs:.6f} s, {_human(int(written / secs))}/s\n"
        )
    return 0


def _human(n: int) -> str:
    for unit in ("B", "K", "M", "G"):
        if n < 1024 or unit == "G":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}".replace(".0 ", " ")
        n = n / 1024  # type: ignore[assignment]
    return str(n)


def _host(sh: Shell, path: str, *, write: bool = False) -> Path:
    return sh.device.resolve(path, cwd=sh.cwd, write=write)


def _sources_and_target(name: str, paths: list[str]) -> tuple[list[str], str]:
    """cp/mv/ln's arguments: one or more sources, then where they go."""
    if len(paths) < 2:
        raise CmdError(f'{name}: Needs 2 arguments (see "{name} --help")\n')
    return paths[:-1], paths[-1]


def _dst_host(sh: Shell, name: str, dst: str) -> Path:
    """cp/mv's destination, or the whole command fails before any source is tried."""
    try:
        return _host(sh, dst, write=True)
    except OSError as exc:
        raise CmdError(f"{name}: {dst}: {strerror(exc)}\n") from None


def _existing(sh: Shell, path: str, *, write: bool = False) -> Path:
    """A source that must exist (a dangling symlink does)."""
    host = _host(sh, path, write=write)
    if not host.exists() and not host.is_symlink():
        raise FileNotFoundError(2, "No such file or directory")
    return host


def _target(src: str, dst_host: Path) -> Path:
    """Where cp/mv put `src`: inside `dst` if it is a directory, else `dst` itself."""
    return dst_host / posixpath.basename(src.rstrip("/")) if dst_host.is_dir() else dst_host


@command("cp")
async def _cp(sh: Shell, argv: list[str], io: IO) -> int:
    flags, paths = split_flags(argv, "rRpfaivndLPHF")
    srcs, dst = _sources_and_target("cp", paths)
    recursive = bool(flags & set("rRa"))
    dst_host = _dst_host(sh, "cp", dst)
    if len(srcs) > 1 and not dst_host.is_dir():
        raise CmdError(f"cp: '{dst}' not directory\n")

    async def copy(src: str) -> int:
        src_host = _existing(sh, src)
        target = _target(src, dst_host)
        if src_host.is_dir():
            if not recursive:
                await io.eprint(f"cp: Skipped dir '{src}'\n")
                return 1
            sh.device.quota.charge(_tree_bytes(src_host))
            shutil.copytree(src_host, target, symlinks=True, dirs_exist_ok=True)
            return 0
        sh.device.read_file(src, cwd=sh.cwd, limit=0)  # the shell user's read permission
        sh.device.quota.charge(src_host.stat().st_size)  # ENOSPC before copying
        shutil.copyfile(src_host, target, follow_symlinks=True)
        if flags & set("pa"):
            shutil.copystat(src_host, target)
        return 0

    return await each_path("cp", srcs, io, copy)


@command("mv")
async def _mv(sh: Shell, argv: list[str], io: IO) -> int:
    _, paths = split_flags(argv, "finvT")
    srcs, dst = _sources_and_target("mv", paths)
    dst_host = _dst_host(sh, "mv", dst)

    async def move(src: str) -> None:
        os.replace(_existing(sh, src, write=True), _target(src, dst_host))

    return await each_path("mv", srcs, io, move)


@command("ln")
async def _ln(sh: Shell, argv: list[str], io: IO) -> int:
    flags, paths = split_flags(argv, "sfnvT")
    srcs, dst = _sources_and_target("ln", paths)
    dst_host = _host(sh, dst, write=True)

    async def link(src: str) -> None:
        target = dst_host / posixpath.basename(src) if dst_host.is_dir() and "n" not in flags else dst_host
        if "f" in flags and (target.exists() or target.is_symlink()):
            target.unlink()
        if "s" in flags:
            # the link text is kept as given: resolve() refuses it later if it leads out
            os.symlink(src, target)
        else:
            os.link(_host(sh, src), target)

    return await each_path("ln", srcs, io, link, shown=lambda _src: dst)  # names the link it could not make


@command("readlink", "realpath")
async def _readlink(sh: Shell, argv: list[str], io: IO) -> int:
    flags, paths = split_flags(argv, "fenmqsz")
    status = 0
    for p in paths:
        try:
            host = _host(sh, p)
            if argv[0] == "realpath" or flags & set("fem"):
                real = Path(os.path.realpath(host))
                rel = real.relative_to(sh.device.root)
                await io.print("/" + str(rel).removeprefix(".") + "\n")
            else:
                await io.print(os.readlink(host) + "\n")
        except (OSError, ValueError):
            status = 1
    return status


@command("find")
async def _find(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    roots = []
    while args and not args[0].startswith("-") and args[0] not in ("!", "("):
        roots.append(args.pop(0))
    roots = roots or ["."]
    name = iname = kind = None
    maxdepth, mindepth = 1 << 30, 0
    it = iter(args)
    for a in it:
        if a == "-name":
            name = next(it, "")
        elif a == "-iname":
            iname = next(it, "").lower()
        elif a == "-type":
            kind = next(it, "")
        elif a == "-maxdepth":
            maxdepth = int(next(it, "0"))
        elif a == "-mindepth":
            mindepth = int(next(it, "0"))
        elif a in ("-print", "-xdev", "-follow", "-L", "-H"):
            continue
        else:
            raise CmdError(f"find: Unknown option '{a}'\n")
    status = 0

    def match(path: str, st: os.stat_result, depth: int) -> bool:
        base = posixpath.basename(path.rstrip("/")) or path
        if depth < mindepth:
            return False
        if name is not None and not fnmatch.fnmatchcase(base, name):
            return False
        if iname is not None and not fnmatch.fnmatchcase(base.lower(), iname):
            return False
        if kind is not None:
            want = {"f": stat_mod.S_ISREG, "d": stat_mod.S_ISDIR, "l": stat_mod.S_ISLNK}.get(kind)
            if want is None or not want(st.st_mode):
                return False
        return True

    out: list[str] = []
    for root in roots:
        try:
            host = _host(sh, root)
            st = os.lstat(host)
        except OSError as exc:
            await io.eprint(f"find: {root}: {strerror(exc)}\n")
            status = 1
            continue
        stack = [(root, host, st, 0)]
        while stack:
            path, h, st, depth = stack.pop()
            if match(path, st, depth):
                out.append(path)
            if stat_mod.S_ISDIR(st.st_mode) and depth < maxdepth:
                try:
                    names = sorted(os.listdir(h), reverse=True)
                except OSError as exc:
                    await io.eprint(f"find: {path}: {strerror(exc)}\n")
                    status = 1
                    continue
                for n in names:
                    child = h / n
                    stack.append((posixpath.join(path, n), child, os.lstat(child), depth + 1))
    await io.print("".join(p + "\n" for p in out))
    return status


@command("du")
async def _du(sh: Shell, argv: list[str], io: IO) -> int:
    flags, paths = split_flags(argv, "skhacxdLlm")
    paths = paths or ["."]

    def fmt(kb: int) -> str:
        if "h" not in flags:
            return str(kb)
        size = float(kb)
        for unit in ("K", "M", "G"):
            if size < 1024:
                return f"{size:.1f}{unit}".replace(".0", "") if unit != "K" else f"{int(size)}K"
            size /= 1024
        return f"{size:.1f}T"

    async def usage(p: str) -> None:
        rows: list[tuple[int, str]] = []

        def walk(h: Path, phone: str) -> int:
            st = os.lstat(h)
            kb = (st.st_size + 4095) // 4096 * 4
            if stat_mod.S_ISDIR(st.st_mode):
                for n in sorted(os.listdir(h)):
                    kb += walk(h / n, posixpath.join(phone, n))
                if "s" not in flags:
                    rows.append((kb, phone))
            elif "a" in flags and "s" not in flags:
                rows.append((kb, phone))
            return kb

        total = walk(_host(sh, p), p)
        if "s" in flags or not rows:
            rows = [(total, p)]
        await io.print("".join(f"{fmt(kb)}\t{phone}\n" for kb, phone in rows))

    return await each_path("du", paths, io, usage)


@command("chown", "chgrp")
async def _chown(sh: Shell, argv: list[str], io: IO) -> int:
    _flags, rest = split_flags(argv, "RhHLPfv")
    if len(rest) < 2:
        raise CmdError(f'{argv[0]}: Needs 2 arguments (see "{argv[0]} --help")\n')
    owner, paths = rest[0], rest[1:]

    async def give(p: str) -> int:
        _existing(sh, p)
        if owner.split(":")[0] in ("shell", "2000", ""):
            return 0
        # only root may give a file away
        await io.eprint(f"{argv[0]}: {p} to '{owner}': Operation not permitted\n")
        return 1

    return await each_path(argv[0], paths, io, give)


@command("tee")
async def _tee(sh: Shell, argv: list[str], io: IO) -> int:
    flags, paths = split_flags(argv, "ai")
    handles: list[QuotaFile] = []

    async def open_one(p: str) -> None:
        handles.append(sh.device.quota.open(_host(sh, p, write=True), "ab" if "a" in flags else "wb"))

    status = await each_path("tee", paths, io, open_one)
    try:
        while (chunk := await io.stdin.read()) is not None:
            for fh in handles:
                fh.write(chunk)
            await io.out(chunk)
    except OSError as exc:  # ENOSPC past the phone's storage budget
        raise CmdError(f"tee: write: {strerror(exc)}\n") from None
    finally:
        for fh in handles:
            fh.close()
    return status


def _tree_bytes(root: Path) -> int:
    """The bytes of the regular files under a directory (what `cp -r` will write)."""
    total = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            with contextlib.suppress(OSError):
                st = os.lstat(os.path.join(dirpath, name))
                total += st.st_size if stat_mod.S_ISREG(st.st_mode) else 0
    return total
