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


@dataclass
class Snapshot:
    battery_level: int | None = None
    charging: bool | None = None
    battery_temp_c: float | None = None
    zones: dict[str, float] = field(default_factory=dict)

    @property
    def max_cpu_temp_c(self) -> float | None:
        cpu = [t for name, t in self.zones.items() if "cpu" in name.lower() or "tsens" in name.lower()]
        temps = cpu or list(self.zones.values())
        return max(temps) if temps else self.battery_temp_c

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"max_cpu_temp_c": self.max_cpu_temp_c}


def parse_dumpsys_battery(text: str) -> tuple[int | None, bool | None, float | None]:
    values = dict(re.findall(r"^\s*([A-Za-z ]+):\s*(\S+)\s*$", text, re.M))
    level = int(values["level"]) if values.get("level", "").isdigit() else None
    powered = [values.get(k) for k in ("AC powered", "USB powered", "Wireless powered")]
    charging = any(p == "true" for p in powered) if any(p is not None for p in powered) else None
    temp = values.get("temperature")
    return level, charging, (int(temp) / 10.0 if temp and temp.lstrip("-").isdigit() else None)


def parse_zone_temp(raw: str) -> float | None:
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value / 1000.0 if abs(value) > 200 else value  # millidegrees on most kernels


def take(device: AdbDevice) -> Snapshot:
    snap = Snapshot()
    snap.battery_level, snap.charging, snap.battery_temp_c = parse_dumpsys_battery(
        run(device, "dumpsys battery").output
    )
    try:
        zones = sorted(e.path for e in device.sync.list(THERMAL_DIR) if e.path.startswith("thermal_zone"))
    except (adbutils.AdbError, OSError):
        zones = []
    if zones:
        paths = [f"{THERMAL_DIR}/{z}/{leaf}" for z in zones for leaf in ("type", "temp")]
        lines = run(device, quote_cmd("cat", *paths) + " 2>/dev/null").output.splitlines()
        for name, temp in zip(lines[::2], lines[1::2], strict=False):
            value = parse_zone_temp(temp)
            if value is not None:
                snap.zones[name.strip()] = value
    return snap
