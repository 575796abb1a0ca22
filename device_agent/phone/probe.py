"""Reading a phone's identity: what it is, as the farm shows it and as jobs select it."""

from __future__ import annotations

import re

from adbutils import AdbDevice

from contracts.reports import DeviceReport
from device_agent import identity
from device_agent.phone.shell import quote_cmd, run
from device_agent.phone.snapshot import CPU_DIR, sysfs_entries

GETPROP_LINE = re.compile(r"^\[(?P<k>[^\]]+)\]: \[(?P<v>.*)\]$")


def parse_getprop(text: str) -> dict[str, str]:
    return {m["k"]: m["v"] for line in text.splitlines() if (m := GETPROP_LINE.match(line.strip()))}


def _max_freqs(device: AdbDevice) -> list[int]:
    cpus = sysfs_entries(device, CPU_DIR, r"cpu\d+")
    if not cpus:
        return []
    paths = [f"{CPU_DIR}/{c}/cpufreq/cpuinfo_max_freq" for c in cpus]
    out = run(device, quote_cmd("cat", *paths) + " 2>/dev/null").output
    return [int(v) for v in out.split() if v.isdecimal()]


def probe(device: AdbDevice) -> DeviceReport:
    props = parse_getprop(run(device, "getprop").output)
    cpuinfo = run(device, "cat /proc/cpuinfo").output
    meminfo = run(device, "cat /proc/meminfo").output
    freqs = _max_freqs(device)
    soc = identity.identify(props, cpuinfo, freqs)  # frequencies tell apart chips sharing a codename
    gpu = identity.gpu_from_surfaceflinger(run(device, "dumpsys SurfaceFlinger").output)
    sdk = props.get("ro.build.version.sdk", "")
    cores = len(freqs) or len(re.findall(r"^processor\s*:", cpuinfo, re.M)) or None
    return DeviceReport(
        serial=device.serial,
        manufacturer=props.get("ro.product.manufacturer"),
        brand=props.get("ro.product.brand"),
        model=props.get("ro.product.model"),
        product=props.get("ro.product.name"),
        soc_vendor=soc.vendor,
        soc_name=soc.name,
        soc_codename=soc.codename,
        soc_known=soc.known,
        platform=props.get("ro.board.platform"),
        abi=props.get("ro.product.cpu.abi"),
        abilist=[a for a in props.get("ro.product.cpu.abilist", "").split(",") if a][:8],
        android_release=props.get("ro.build.version.release"),
        sdk=int(sdk) if sdk.isdecimal() else None,
        ram_mb=identity.parse_meminfo(meminfo),
        cpu_cores=cores,
        cpu_max_freqs_khz=freqs,
        gpu=gpu,
        fingerprint=props.get("ro.build.fingerprint"),
        is_virtual=props.get("ro.phonefarm.virtual") == "1",
        timing_mode=props.get("ro.phonefarm.timing_mode"),
    )
