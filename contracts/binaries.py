"""Which benchmark_model a phone runs, and what that build understands.

Pure functions shared by the server (refusing a job at submit time) and the worker
(choosing the file to push): the same rule decides both, so a job accepted at submit
time finds its binary at run time unless the farm changed in between.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

HELP_LIMIT = 256 * 1024  # a --help text larger than this is cut: bounded before parsing
_HELP_FLAG = re.compile(r"^\s*--([A-Za-z0-9_]{1,64})=")
_VERSION = re.compile(
    r"(?:TensorFlow Lite|TF ?Lite|LiteRT|benchmark_model)(?: runtime| tool)? [Vv]ersion:?\s*\[?v?"
    r"(?P<v>\d+\.\d+[\w.+-]{0,40})"
)


@dataclass(frozen=True)
class BinaryInfo:
    """What selection needs to know of a registered binary."""

    sha256: str
    abi: str
    flex: bool = False
    id: int = 0  # registration order: a larger id is newer
    tool_version: str | None = None
    flags: tuple[str, ...] | None = None  # None until probed


def split_abilist(abilist: str | Sequence[str] | None, abi: str | None = None) -> list[str]:
    """`ro.product.cpu.abilist` as a list, falling back to the primary ABI."""
    items = abilist.split(",") if isinstance(abilist, str) else list(abilist or [])
    out = [a.strip() for a in items if a and a.strip()]
    if not out and abi:
        out = [abi]
    return out


def choose_binary(
    binaries: Iterable[BinaryInfo], abilist: Sequence[str], needs_flex: bool
) -> BinaryInfo | None:
    """The binary for a phone: its most preferred ABI first (abilist order), then a build
    without Flex unless the model needs it (smaller, and what most runs use), then the newest."""
    rank = {abi: i for i, abi in enumerate(abilist)}
    fits = [b for b in binaries if b.abi in rank and (b.flex or not needs_flex)]
    if not fits:
        return None
    return min(fits, key=lambda b: (rank[b.abi], b.flex != needs_flex, -b.id))


def fix_command(abi: str, needs_flex: bool) -> str:
    return f"farm binary fetch --abi {abi}" + (" --flex" if needs_flex else "")


def missing_message(abilist: Sequence[str], needs_flex: bool, who: str) -> str:
    """The sentence shown when no binary fits: the ABI and the command that fixes it."""
    abi = abilist[0] if abilist else "unknown"
    kind = "benchmark_model with Flex (Select TF ops)" if needs_flex else "benchmark_model"
    return (
        f"No {kind} binary for ABI {abi} (phone {who}, abilist {','.join(abilist) or '?'}) is registered: "
        f"run '{fix_command(abi, needs_flex)}' or 'farm binary add PATH'."
    )


@dataclass(frozen=True)
class Capabilities:
    flags: tuple[str, ...]
    version: str | None = None
    notes: list[str] = field(default_factory=list)


def parse_help(text: str) -> Capabilities:
    """Flags and version from `benchmark_model --help` (Flags::Usage prints `--name=default`)."""
    text = text[:HELP_LIMIT]
    flags: list[str] = []
    version = None
    for line in text.splitlines():
        line = line.removeprefix("ERROR: ").removeprefix("INFO: ")
        if m := _HELP_FLAG.match(line):
            if m[1] not in flags:
                flags.append(m[1])
        elif version is None and (v := _VERSION.search(line)):
            version = v["v"]
    return Capabilities(flags=tuple(flags), version=version)
