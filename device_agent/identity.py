"""Naming a phone's system-on-chip from what Android exposes.

Why: jobs select phones by chip ("every Snapdragon 8 Gen 2") and results are compared per
chip, but no single property names it. ``ro.soc.model`` exists only from Android 12;
before that there is ``ro.board.platform`` (a codename, often shared: ``kona`` is the 865,
865+ and 870; ``exynos5`` is most Exynos chips of a decade; ``msm8953`` covers the 625,
626, 632 and 450), ``ro.hardware``, Samsung's ``ro.chipname``, ``ro.product.board`` and the
kernel's ``Hardware`` line. Each is looked up in a data table (``data/socs.toml``, so
adding a chip needs no code), the candidates are narrowed by every property that agrees,
then by the fastest core's maximum frequency; what stays ambiguous is reported as the base
chip with ``ambiguous=True``. An unknown chip keeps its raw codename with ``known=False``:
probing a new phone must never fail on an identity.

Why the parsing is line by line with capped inputs: property values and /proc files are
hostile input. A 100 KB ``Hardware:`` line once held the agent's GIL for 87 s in a
backtracking regex and every phone went offline. Texts are cut to MAX_TEXT, lines and
values to MAX_VALUE before any regex sees them, and the regexes left have no nested or
adjacent unbounded quantifiers that could backtrack.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "socs.toml"
MAX_TEXT = 256 * 1024  # of a /proc file or dumpsys output that is read at all
MAX_VALUE = 256  # of a property value or a line's value that is looked at


def _lines(text: str | None) -> list[str]:
    return (text or "")[:MAX_TEXT].splitlines()


def _value(line: str, key: str) -> str | None:
    """The value of a ``Key : value`` line, capped, or None when the line is another key."""
    head, sep, rest = line.partition(":")
    if not sep or head.strip().lower() != key.lower():
        return None
    return rest.strip()[:MAX_VALUE]


# most reliable first: the kernel's SoC id, Samsung's chip name, the kernel's Hardware line,
# then build-time platform names
CHIP_ID_SOURCES = frozenset({"ro.soc.model", "ro.chipname", "ro.hardware.chipname", "cpuinfo"})
SOURCES = (
    "ro.soc.model",
    "ro.chipname",
    "ro.hardware.chipname",
    "cpuinfo",
    "ro.board.platform",
    "ro.product.board",
    "ro.hardware",
    "ro.boot.hardware",
    "ro.mediatek.platform",
    "ro.vendor.mediatek.platform",
)

_VENDOR_WORDS = re.compile(
    r"^(?:qualcomm technologies,? inc\.?|qualcomm|qti|samsung(?: electronics)?|hisilicon|huawei|"
    r"mediatek|mtk|unisoc|spreadtrum|google)\s+"
)
_TOKENS = [
    re.compile(r"(?:msm|apq|sdm|sda|sm|qcs|qcm)\d{3,4}(?:-a[a-z]|pro)?"),
    re.compile(r"mt\d{4}"),
    re.compile(r"exynos\s?\d{3,4}"),
    re.compile(r"universal\d{3,4}b?"),
    re.compile(r"s5e\d{4}"),
    re.compile(r"kirin\s?\d{3,4}s?"),
    re.compile(r"hi\d{4}|hi36a0"),
    re.compile(r"gs\d{3}"),
    re.compile(r"ums\d{3,4}|s[cp]\d{4}[a-z]?"),
]
_VENDOR_GUESS = [
    (re.compile(r"^(?:msm|apq|sdm|sda|sm\d|qcs|qcm|qcom)|qualcomm|^qti"), "Qualcomm"),
    (re.compile(r"^mt\d|mediatek"), "MediaTek"),
    (re.compile(r"exynos|^s5e|^universal|samsung"), "Samsung"),
    (re.compile(r"kirin|^hi\d|hisilicon"), "HiSilicon"),
    (re.compile(r"^gs\d|tensor|^google"), "Google"),
    (re.compile(r"^ums|^sc\d|unisoc|spreadtrum"), "Unisoc"),
]
_VENDOR_NAMES = {
    "qti": "Qualcomm",
    "qualcomm": "Qualcomm",
    "google": "Google",
    "mediatek": "MediaTek",
    "mtk": "MediaTek",
    "samsung": "Samsung",
    "samsung electronics": "Samsung",
    "hisilicon": "HiSilicon",
    "huawei": "HiSilicon",
    "unisoc": "Unisoc",
    "spreadtrum": "Unisoc",
}


@dataclass(frozen=True)
class Soc:
    vendor: str
    model: str  # part number: SM8250-AB, S5E9925, MT6893
    name: str  # marketing name: Snapdragon 865+
    codename: str  # platform codename: kona
    keys: tuple[str, ...]
    max_freq_khz: int | None = None
    base: bool = False
    platform: tuple[str, ...] = ()  # build platform codenames shared with sibling chips


@dataclass(frozen=True)
class SocIdentity:
    vendor: str | None
    name: str  # marketing name, or the raw codename when unknown
    codename: str | None
    model: str | None = None
    known: bool = False
    ambiguous: bool = False
    source: str | None = None  # the property that identified it
    candidates: list[str] = field(default_factory=list)  # names it could also be, when ambiguous


@lru_cache
def load_table(path: Path = DATA_FILE) -> tuple[Soc, ...]:
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    return tuple(
        Soc(
            vendor=e["vendor"],
            model=e["model"],
            name=e["name"],
            codename=e["codename"],
            keys=tuple(k.lower() for k in e["keys"]),
            max_freq_khz=e.get("max_freq_khz"),
            base=bool(e.get("base", False)),
            platform=tuple(k.lower() for k in e.get("platform", ())),
        )
        for e in data["soc"]
    )


@lru_cache
def _index(path: Path = DATA_FILE, chip_ids: bool = False) -> dict[str, list[Soc]]:
    """key -> chips; with chip_ids, only the keys that name a chip itself (no platform names)."""
    idx: dict[str, list[Soc]] = {}
    for soc in load_table(path):
        for key in soc.keys + (() if chip_ids else soc.platform):
            idx.setdefault(key, []).append(soc)
    return idx


def cpuinfo_hardware(cpuinfo: str | None) -> str | None:
    """The ``Hardware`` line of /proc/cpuinfo (absent on many arm64 kernels)."""
    for line in _lines(cpuinfo):
        if line.startswith("Hardware") and (value := _value(line, "Hardware")):
            return value
    return None


def _tokens(value: str) -> list[str]:
    """Lookup keys a raw property value can stand for, most specific first."""
    v = " ".join(value[:MAX_VALUE].strip().lower().split())
    if not v:
        return []
    out = [v]
    bare = _VENDOR_WORDS.sub("", v)
    out.append(bare)
    for rx in _TOKENS:
        for m in rx.finditer(bare):
            tok = m[0].replace(" ", "")
            out.append(tok)
            if tok.startswith("universal"):
                out.append("exynos" + tok[9:].rstrip("b"))
    se = re.match(r"samsungexynos(\d+)", bare)
    if se:
        out.append(f"exynos{se[1]}")
    seen: dict[str, None] = {}
    for t in out:
        seen.setdefault(t, None)
    return list(seen)


def _pick_by_freq(cands: list[Soc], max_freqs_khz: Iterable[int] | None) -> Soc | None:
    freqs = [f for f in (max_freqs_khz or []) if f > 0]
    rated = [c for c in cands if c.max_freq_khz]
    if not freqs or not rated:
        return None
    top = max(freqs)
    best = min(rated, key=lambda c: abs((c.max_freq_khz or 0) - top))
    if abs((best.max_freq_khz or 0) - top) <= 0.02 * top:
        return best
    return None


def identify(
    props: Mapping[str, str],
    cpuinfo: str | None = None,
    max_freqs_khz: Iterable[int] | None = None,
) -> SocIdentity:
    """Name the SoC from getprop output (and /proc/cpuinfo, per-core max frequencies)."""
    values: list[tuple[str, str]] = []
    for key in SOURCES:
        raw = cpuinfo_hardware(cpuinfo) if key == "cpuinfo" else props.get(key)
        if raw and raw.strip():
            values.append((key, raw.strip()[:MAX_VALUE]))

    cands: list[Soc] | None = None
    source: str | None = None
    narrowed_by: str | None = None
    for key, raw in values:
        idx = _index(chip_ids=key in CHIP_ID_SOURCES)
        hit: list[Soc] = []
        for tok in _tokens(raw):
            if tok in idx:
                hit = idx[tok]
                break
        if not hit:
            continue
        if cands is None:
            cands, source = list(hit), key
            narrowed_by = key
            continue
        inter = [c for c in cands if c in hit]
        if inter and len(inter) < len(cands):
            cands, narrowed_by = inter, key
        # no overlap: a less reliable property disagrees; the earlier one wins

    if not cands:
        return _unknown(props, values)

    vendor_hint = _vendor_from(props.get("ro.soc.manufacturer", "")[:MAX_VALUE])
    if vendor_hint and any(c.vendor == vendor_hint for c in cands):
        cands = [c for c in cands if c.vendor == vendor_hint]
    if len(cands) == 1:
        chosen, ambiguous = cands[0], False
        source = narrowed_by if narrowed_by else source
    else:
        by_freq = _pick_by_freq(cands, max_freqs_khz)
        if by_freq is not None:
            chosen, ambiguous, source = by_freq, False, "max_freq"
        else:
            chosen = next((c for c in cands if c.base), cands[0])
            ambiguous = True
    return SocIdentity(
        vendor=chosen.vendor,
        name=chosen.name,
        codename=chosen.codename,
        model=chosen.model,
        known=True,
        ambiguous=ambiguous,
        source=source,
        candidates=[c.name for c in cands] if ambiguous else [],
    )


def _vendor_from(text: str) -> str | None:
    t = " ".join(text[:MAX_VALUE].strip().lower().split())
    if not t:
        return None
    if t in _VENDOR_NAMES:
        return _VENDOR_NAMES[t]
    for rx, vendor in _VENDOR_GUESS:
        if rx.search(t):
            return vendor
    return None


def _unknown(props: Mapping[str, str], values: list[tuple[str, str]]) -> SocIdentity:
    # prefer a specific name over generic ones like "qcom"
    generic = {"qcom", "mt", "mtk", "unknown", "default"}
    chosen = next(((k, v) for k, v in values if v.lower() not in generic), values[0] if values else None)
    vendor = _vendor_from(props.get("ro.soc.manufacturer", "")[:MAX_VALUE])
    for _, v in values:
        if vendor:
            break
        vendor = _vendor_from(v)
    if chosen is None:
        return SocIdentity(vendor=vendor, name="unknown", codename=None, known=False)
    key, raw = chosen
    code = _VENDOR_WORDS.sub("", " ".join(raw.lower().split())) or raw
    return SocIdentity(vendor=vendor, name=raw, codename=code, known=False, source=key)


# ---- other probes ------------------------------------------------------------------------


def gpu_from_surfaceflinger(text: str) -> str | None:
    """The GLES renderer from ``dumpsys SurfaceFlinger``.

    The line reads ``GLES: <vendor>, <renderer>, OpenGL ES 3.2 ...``; the renderer is the
    second field (e.g. ``Adreno (TM) 640``, ``Mali-G78 MP14``).
    """
    found = next((v for ln in _lines(text) if (v := _value(ln.lstrip()[:1024], "GLES"))), None)
    if not found:
        return None
    # a vendor name may itself hold commas ("Samsung Electronics Co., Ltd."): drop the
    # corporate suffixes before splitting into vendor, renderer, version
    line = re.sub(r",\s*(Ltd|Inc|Co|Corp|LLC)\b\.?", r" \1.", found)
    parts = [p.strip() for p in line.split(",")]
    if len(parts) >= 2 and parts[1]:
        return parts[1]
    return parts[0] or None


def parse_meminfo(text: str) -> int | None:
    """MemTotal from /proc/meminfo, in MB (MiB)."""
    for line in _lines(text):
        value = _value(line[:128], "MemTotal")
        if value is not None:
            number, _, unit = value.partition(" ")
            if number.isascii() and number.isdecimal() and unit.strip().lower() == "kb" and len(number) < 12:
                return int(number) // 1024
            return None
    return None


def parse_cpu_max_freqs(text: str) -> list[int]:
    """kHz values from ``cat /sys/devices/system/cpu/cpu*/cpufreq/cpuinfo_max_freq``."""
    values = (text or "")[:MAX_TEXT].split()[:256]
    return [int(v) for v in values if v.isascii() and v.isdecimal() and len(v) < 10]
