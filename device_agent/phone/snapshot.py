"""Battery and thermal state of a phone, read before and after each run.

Results measured on a hot or nearly empty phone are not comparable with others; the
snapshot is stored with the result so that can be seen (and gated on).
"""

from __future__ import annotations

import re
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


def _read(device: AdbDevice, full: bool) -> Snapshot:
    """One shell round trip: battery, fingerprint and CPU frequencies (when `full`) and each
    zone's type and temp, between separators (a zone that can't be read must not shift the others)."""
    zones = sysfs_entries(device, THERMAL_DIR, r"thermal_zone\d+")
    parts = []
    if full:
        cpus = sysfs_entries(device, CPU_DIR, r"cpu\d+")
        freqs = [f"{CPU_DIR}/{c}/cpufreq/scaling_cur_freq" for c in cpus]
        parts += ["dumpsys battery", "getprop ro.build.fingerprint"]
        parts.append(quote_cmd("cat", *freqs) + " 2>/dev/null" if freqs else "true")
    parts += [
        quote_cmd("cat", f"{THERMAL_DIR}/{z}/type", f"{THERMAL_DIR}/{z}/temp") + " 2>/dev/null" for z in zones
    ]
    snap = Snapshot()
    if not parts:
        return snap
    chunks = run(device, f" ; echo {SEP} ; ".join(parts)).output.split(SEP)
    if full:
        snap.battery_level, snap.charging, snap.battery_temp_c = parse_dumpsys_battery(chunks.pop(0))
        snap.fingerprint = chunks.pop(0).strip() or None
        snap.cpu_freqs_khz = [int(v) for v in chunks.pop(0).split() if v.isdecimal()]
    for chunk in chunks:
        lines = chunk.strip().splitlines()
        if len(lines) == 2 and (value := parse_zone_temp(lines[1])) is not None:
            snap.zones[lines[0].strip()] = value
    return snap


def take_thermal(device: AdbDevice) -> Snapshot:
    """Thermal zones only, cheap enough to poll in the thermal gate."""
    return _read(device, full=False)


def take(device: AdbDevice) -> Snapshot:
    return _read(device, full=True)
