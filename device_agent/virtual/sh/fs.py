"""File commands: cat, md5sum/sha*sum, ls, rm, mkdir, chmod, touch, stat, df, as toybox prints
them, with every path confined to the phone's sandbox by VirtualDevice.resolve()."""

from __future__ import annotations

import errno
import hashlib
import os
import posixpath
import re
import stat as stat_mod
import time
from pathlib import Path
from typing import TYPE_CHECKING

from device_agent.virtual.sh.api import (
    COMMANDS,
    IO,
    CmdError,
    Handler,
    command,
    each_file,
    each_path,
    open_read,
    split_flags,
    strerror,
)

if TYPE_CHECKING:
    from device_agent.virtual.shell import Shell


@command("cat")
async def _cat(sh: Shell, argv: list[str], io: IO) -> int:
    _, files = split_flags(argv, "uvAte")
    if not files or files == ["-"]:  # stream stdin as it arrives (a pipe from the host)
        while (chunk := await io.stdin.read()) is not None:
            await io.out(chunk)
        return 0

    async def emit(path: str, data: bytes) -> None:
        await io.out(data)

    return await each_file(sh, "cat", files, io, emit)


def _hash_command(name: str, algo: str) -> Handler:
    async def run(sh: Shell, argv: list[str], io: IO) -> int:
        flags, files = split_flags(argv, "bc")
        if "c" in flags:
            return await _hash_check(sh, name, algo, files, io)

        async def emit(path: str, data: bytes) -> None:
            await io.print(f"{hashlib.new(algo, data).hexdigest()}  {path}\n")

        return await each_file(sh, name, files, io, emit)

    return run


async def _hash_check(sh: Shell, name: str, algo: str, files: list[str], io: IO) -> int:
    status = 0
    for f in files:
        for line in open_read(sh, name, f).decode().splitlines():
            digest, _, path = line.partition("  ")
            try:
                ok = hashlib.new(algo, open_read(sh, name, path)).hexdigest() == digest
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
    files: list[tuple[str, str, os.stat_result]] = []
    dirs: list[tuple[str, str]] = []

    async def sort(p: str) -> None:
        phone = sh.device.phone_path(p, sh.cwd)
        st = os.lstat(sh.device.resolve(phone))
        if stat_mod.S_ISDIR(st.st_mode) and "d" not in flags:
            dirs.append((p, phone))
        else:
            files.append((p, phone, st))

    status = await each_path("ls", paths or ["."], io, sort)
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
            await io.eprint(f"ls: {label}: {strerror(exc)}\n")
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
    missing_ok: tuple[type[OSError], ...] = (FileNotFoundError,) if "f" in flags else ()

    async def remove(p: str) -> None:
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
        except missing_ok:  # -f: a missing path is no error
            pass

    return await each_path("rm", paths, io, remove)


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

    async def make(p: str) -> None:
        phone = sh.device.phone_path(p, sh.cwd)
        host = sh.device.resolve(phone)
        if host.exists():
            if "p" in flags and host.is_dir():
                return
            raise FileExistsError(errno.EEXIST, "File exists")
        sh.device.resolve(phone, write=True)
        host.mkdir(parents="p" in flags)
        os.chmod(host, 0o775)  # noqa: S103 - the phone's mkdir mode, inside the sandbox

    return await each_path("mkdir", paths, io, make)


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

    async def change(p: str) -> None:
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
                raise CmdError(f"chmod: bad mode '{spec}'\n") from None
        os.chmod(host, new & 0o7777)

    return await each_path("chmod", paths, io, change)


@command("touch")
async def _touch(sh: Shell, argv: list[str], io: IO) -> int:
    _, paths = split_flags(argv, "acm")

    async def touch(p: str) -> None:
        sh.device.resolve(p, cwd=sh.cwd, write=True).touch()

    return await each_path("touch", paths, io, touch)


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

    async def show(p: str) -> None:
        phone = sh.device.phone_path(p, sh.cwd)
        st = os.stat(sh.device.resolve(phone))
        owner = _owner(sh, phone)
        uid = 2000 if owner == "shell" else 0
        if fmt is None:
            await io.print(
                f"  File: {p}\n  Size: {st.st_size}\t Blocks: {st.st_blocks}\t IO Blocks: 4096\t"
                f"{'directory' if stat_mod.S_ISDIR(st.st_mode) else 'regular file'}\n"
                f"Access: ({stat_mod.S_IMODE(st.st_mode):04o}/{_mode_string(st.st_mode)})\t"
                f"Uid: ({uid:5}/{owner:>8})\tGid: ({uid:5}/{owner:>8})\n"
            )
            return
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

    return await each_path("stat", paths, io, show, shown=lambda p: f"'{p}'")


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
