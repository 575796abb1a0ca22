"""Reading an ELF header: which Android ABI a benchmark_model file was built for.

Why: the farm must push each phone a binary its CPU can execute. The ABI is read from the
file itself (e_machine and the word size in e_ident), never trusted from a file name, and
anything that is not an ELF executable is refused before it is stored or pushed.
Only the first 64 bytes are read: the parse is constant-time whatever the file size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from contracts.vocabulary import Abi

HEADER_BYTES = 64
ET_EXEC = 2
ET_DYN = 3  # Android executables are position independent: type DYN
MACHINES: dict[tuple[int, int], Abi] = {
    (183, 64): Abi.arm64_v8a,  # EM_AARCH64
    (40, 32): Abi.armeabi_v7a,  # EM_ARM
    (62, 64): Abi.x86_64,  # EM_X86_64
    (3, 32): Abi.x86,  # EM_386
}


class ElfError(ValueError):
    """The file is not an ELF executable for an Android ABI; the message says why."""


@dataclass(frozen=True)
class ElfInfo:
    abi: Abi
    bits: int
    machine: int


def read_elf(head: bytes) -> ElfInfo:
    """The ABI of an ELF file from its first bytes (at least 20)."""
    if len(head) < 20 or head[:4] != b"\x7fELF":
        raise ElfError("not an ELF file (no \\x7fELF magic): pass TensorFlow Lite's benchmark_model binary")
    ei_class, ei_data = head[4], head[5]
    if ei_class not in (1, 2):
        raise ElfError(f"corrupt ELF header: class {ei_class} is neither 32- nor 64-bit")
    if ei_data not in (1, 2):
        raise ElfError(f"corrupt ELF header: data encoding {ei_data} is neither little nor big endian")
    order: Literal["little", "big"] = "little" if ei_data == 1 else "big"
    e_type = int.from_bytes(head[16:18], order)
    machine = int.from_bytes(head[18:20], order)
    if e_type not in (ET_EXEC, ET_DYN):
        kind = {1: "a relocatable object (.o)", 4: "a core dump"}.get(e_type, f"of type {e_type}")
        raise ElfError(f"the ELF file is {kind}, not an executable")
    bits = 64 if ei_class == 2 else 32
    abi = MACHINES.get((machine, bits))
    if abi is None:
        raise ElfError(
            f"ELF machine {machine} ({bits}-bit) is no Android ABI "
            "(expected AArch64, ARM, x86-64 or i386): use --abi only for a file of one of those"
        )
    return ElfInfo(abi=abi, bits=bits, machine=machine)


def fake_elf(abi: Abi | str, payload: bytes = b"") -> bytes:
    """A minimal ELF header for `abi` (test fixtures and the virtual phone's stand-in binary)."""
    machine, bits = next(k for k, v in MACHINES.items() if v == Abi(abi))
    ident = b"\x7fELF" + bytes([2 if bits == 64 else 1, 1, 1, 0]) + bytes(8)
    header = ident + ET_DYN.to_bytes(2, "little") + machine.to_bytes(2, "little") + (1).to_bytes(4, "little")
    return header.ljust(HEADER_BYTES if bits == 64 else 52, b"\0") + payload
