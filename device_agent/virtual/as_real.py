"""What a virtual phone does with an ELF file it is asked to execute.

Why: the farm pushes the benchmark_model build registered for the phone's ABI, the way it
does to a real phone. A virtual phone cannot run ARM code, so an ELF built for one of its
ABIs (`ro.product.cpu.abilist`) is emulated as benchmark_model (the same output, flags
and `--help` as benchmark_tool.py prints); any other ELF is refused the way Android's
mksh refuses it after execve fails with ENOEXEC: `not executable: 64-bit ELF file`,
exit 126. So a 64-bit binary on a 32-bit-only phone fails here as it fails in the field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contracts.elf import ElfError, read_elf

if TYPE_CHECKING:
    from device_agent.virtual.device import VirtualDevice


def abilist(device: VirtualDevice) -> list[str]:
    props = device.profile.props
    return [a for a in props.get("ro.product.cpu.abilist", props["ro.product.cpu.abi"]).split(",") if a]


def exec_refusal(device: VirtualDevice, head: bytes) -> str | None:
    """None when the ELF runs (as benchmark_model) on this phone, else mksh's message."""
    bits = 64 if head[4:5] == b"\x02" else 32
    try:
        info = read_elf(head)
    except ElfError:
        return f"not executable: {bits}-bit ELF file"
    if info.abi.value not in abilist(device):
        return f"not executable: {bits}-bit ELF file"
    return None
