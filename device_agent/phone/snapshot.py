"""Battery and thermal state of a phone, read before and after each run.

Results measured on a hot or nearly empty phone are not comparable with others; the
snapshot is stored with the result so that can be seen (and gated on).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import asdict, dataclass, field
from typing import Any

import adbutils
from adbutils import AdbDevice

from device_agent.phone.shell import quote_cmd, run

THERMAL_DIR = "/sys/class/thermal"
CPU_DIR = "/sys/devices/system/cpu"


@dataclass
class Snapshot:
    battery_level: int | None = None
    charging: bool | None = None
    battery_temp_c: float | None = None
    zones: dict[str, float] = field(default_factory=dict)
    fingerprint: str | None = None
    cpu_freqs_khz: list[int] = field(default_factory=list)

    @property
    def max_cpu_temp_c(self) -> float | None:
        cpu = [t for name, t in self.zones.items() if "cpu" in name.lower() or "tsens" in name.lower()]
        temps = cpu or list(self.zones.values())
        return max(temps) if temps else self.battery_temp_c

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"max_cpu_temp_c": self.max_cpu_temp_c}


def parse_dumpsys_battery(text: str) -> tuple[int | None, bool | None, float | None]:
    values = dict(re.findall(r"^\s*([A-Za-z ]+):\s*(\S+)\s*$", text, re.M))
    level = int(values["level"]) if values.get("level", "").isdecimal() else None
    powered = [values.get(k) for k in ("AC powered", "USB powered", "Wireless powered")]
    charging = any(p == "true" for p in powered) if any(p is not None for p in powered) else None
    temp = values.get("temperature")
    return level, charging, (int(temp) / 10.0 if temp and temp.lstrip("-").isdecimal() else None)


def parse_zone_temp(raw: str) -> float | None:
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value / 1000.0 if abs(value) > 200 else value  # millidegrees on most kernels


SEP = "__PHONEFARM_SEP__"
TAB = "\t"
_LISTINGS: dict[tuple[str, str], list[str]] = {}


def sysfs_entries(device: AdbDevice, directory: str, pattern: str) -> list[str]:
    """Entries of a sysfs directory; listed once per phone (thermal zones and CPUs don't change)."""
    key = (device.serial, directory)
    if key not in _LISTINGS:
        try:
            names = [e.path for e in device.sync.list(directory)]
        except (adbutils.AdbError, OSError):
            return []
        _LISTINGS[key] = sorted(
            (n for n in names if re.fullmatch(pattern, n)), key=lambda n: int(re.sub(r"\D", "", n) or 0)
        )
    return _LISTINGS[key]


def zones_script(zones: list[str]) -> str:
    """Each zone's type and temp as `zone<TAB>type<TAB>temp` lines, read by the shell itself.

    `read` is a shell builtin: no process per file (a `cat` per zone forked 24 processes on a
    phone with 24 zones, and cost a virtual phone 20-40 ms a snapshot). Each line names its
    zone, so a zone that can't be read leaves its fields empty instead of shifting the others;
    the variables are cleared first because a failed redirection leaves them as they were.
    """
    names = " ".join(shlex.quote(z) for z in zones)
    return (
        f"for z in {names}; do t=; v=; read -r t < {THERMAL_DIR}/$z/type; "
        f'read -r v < {THERMAL_DIR}/$z/temp; echo "$z{TAB}$t{TAB}$v"; done 2>/dev/null'
    )


def parse_zones(text: str) -> dict[str, float]:
    zones = {}
    for line in text.splitlines():
        _zone, _, rest = line.partition(TAB)
        name, _, raw = rest.partition(TAB)
        if name.strip() and (value := parse_zone_temp(raw)) is not None:
            zones[name.strip()] = value
    return zones


def _read(device: AdbDevice, full: bool) -> Snapshot:
    """One shell round trip: battery, fingerprint and CPU frequencies (when `full`) and each
    zone's type and temp (`zones_script`), parts between separators."""
    zones = sysfs_entries(device, THERMAL_DIR, r"thermal_zone\d+")
    parts = []
    if full:
        cpus = sysfs_entries(device, CPU_DIR, r"cpu\d+")
        freqs = [f"{CPU_DIR}/{c}/cpufreq/scaling_cur_freq" for c in cpus]
        parts += ["dumpsys battery", "getprop ro.build.fingerprint"]
        parts.append(quote_cmd("cat", *freqs) + " 2>/dev/null" if freqs else "true")
    if zones:
        parts.append(zones_script(zones))
    snap = Snapshot()
    if not parts:
        return snap
    chunks = run(device, f" ; echo {SEP} ; ".join(parts)).output.split(SEP)
    if full:
        snap.battery_level, snap.charging, snap.battery_temp_c = parse_dumpsys_battery(chunks.pop(0))
        snap.fingerprint = chunks.pop(0).strip() or None
        snap.cpu_freqs_khz = [int(v) for v in chunks.pop(0).split() if v.isdecimal()]
    if chunks:
        snap.zones = parse_zones(chunks[0])
    return snap


def take_thermal(device: AdbDevice) -> Snapshot:
    """Thermal zones only, cheap enough to poll in the thermal gate."""
    return _read(device, full=False)


def take(device: AdbDevice) -> Snapshot:
    return _read(device, full=True)
