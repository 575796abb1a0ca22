"""`dumpsys` on the virtual phone: battery, SurfaceFlinger, thermalservice, cpuinfo.

Why these services in these formats: the farm's probe and snapshot code parse the real
text (`Current Battery Service state:` with temperature in tenths of °C, SurfaceFlinger's
`GLES: vendor, renderer, version` line), so the virtual phone prints the same layout that
Android's BatteryService / SurfaceFlinger / ThermalManagerService print, with the values
taken from the profile and the live thermal model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from device_agent.virtual.device import VirtualDevice
    from device_agent.virtual.sh.api import IO

BATTERY_STATUS = {"Unknown": 1, "Charging": 2, "Discharging": 3, "Not charging": 4, "Full": 5}
BATTERY_HEALTH = {"Unknown": 1, "Good": 2, "Overheat": 3, "Dead": 4, "Over voltage": 5, "Cold": 7}
SERVICES = (
    "battery",
    "SurfaceFlinger",
    "thermalservice",
    "cpuinfo",
    "meminfo",
    "power",
    "window",
    "activity",
)


def battery(device: VirtualDevice) -> str:
    b = device.profile.battery
    temp = round(device.thermal.battery_c() * 10)
    lines = [
        "Current Battery Service state:",
        f"  AC powered: {str(b.ac_powered).lower()}",
        f"  USB powered: {str(b.usb_powered).lower()}",
        "  Wireless powered: false",
    ]
    if device.profile.sdk >= 30:
        lines.append("  Dock powered: false")
    lines += [
        f"  Max charging current: {500000 if b.usb_powered or b.ac_powered else 0}",
        f"  Max charging voltage: {5000000 if b.usb_powered or b.ac_powered else 0}",
        f"  Charge counter: {device.battery.level() * 29500}",
        f"  status: {BATTERY_STATUS.get(device.battery_status(), 1)}",
        f"  health: {BATTERY_HEALTH.get(b.health, 1)}",
        "  present: true",
        f"  level: {device.battery.level()}",
        "  scale: 100",
        f"  voltage: {b.voltage_mv}",
        f"  temperature: {temp}",
        f"  technology: {b.technology}",
    ]
    return "\n".join(lines) + "\n"


def surfaceflinger(device: VirtualDevice) -> str:
    g = device.profile.gpu
    p = device.profile.props
    density = p.get("ro.sf.lcd_density", "420")
    return (
        "Build configuration: [sf PRESENT_TIME_OFFSET=0 FORCE_HWC_FOR_RBG_TO_YUV=1 MAX_VIRT_DISPLAY_DIM=4096"
        " RUNNING_WITHOUT_SYNC_FRAMEWORK=0 NUM_FRAMEBUFFER_SURFACE_BUFFERS=3]\n"
        "\n"
        "Display identification data:\n"
        "Display 0 (HWC display 0): no identification data\n"
        "\n"
        "Wide-Color information:\n"
        "Device has wide color built-in display: 1\n"
        "\n"
        "Sync configuration: [using: EGL_ANDROID_native_fence_sync EGL_KHR_wait_sync]\n"
        "\n"
        "Visible layers (count = 2)\n"
        "\n"
        f"  density={density}\n"
        "\n"
        f"GLES: {g.vendor}, {g.renderer}, {g.version}\n"
        "GL_EXT_debug_marker GL_EXT_blend_minmax GL_EXT_multisampled_render_to_texture GL_OES_EGL_image\n"
        "\n"
        f"  Display power mode: {'ON' if device.screen_on else 'OFF'}\n"
        "h/w composer state:\n"
        "  h/w composer enabled\n"
    )


def thermalservice(device: VirtualDevice) -> str:
    temps = device.thermal.zone_temps_mc()
    zones = device.profile.thermal.zones
    status = 0
    if device.thermal.throttled():
        status = 2
    lines = [
        "IsStatusOverride: false",
        "ThermalEventListeners:\n\tcallbacks: 1\n\tkilled: false\n\tbroadcasts count: -1",
        "ThermalStatusListeners:\n\tcallbacks: 1\n\tkilled: false\n\tbroadcasts count: -1",
        f"Thermal Status: {status}",
        "Cached temperatures:",
    ]
    for name, mc in zip(zones, temps, strict=True):
        kind = 3 if "batt" in name.lower() else 0
        lines.append(f"\tTemperature{{mValue={mc / 1000:.3f}, mType={kind}, mName={name}, mStatus={status}}}")
    lines.append("HAL Ready: true")
    lines.append("HAL connection:")
    lines.append("\tThermalHAL 2.0 connected: yes")
    lines.append("Current temperatures from HAL:")
    for name, mc in zip(zones, temps, strict=True):
        kind = 3 if "batt" in name.lower() else 0
        lines.append(f"\tTemperature{{mValue={mc / 1000:.3f}, mType={kind}, mName={name}, mStatus={status}}}")
    return "\n".join(lines) + "\n"


def cpuinfo(device: VirtualDevice) -> str:
    busy = device.thermal.busy()
    load = "4.12 / 3.80 / 3.05" if busy else "0.85 / 1.10 / 1.32"
    return (
        f"Load: {load}\n"
        "CPU usage from 10000ms to 0ms ago:\n"
        f"  {'95' if busy else '3.1'}% TOTAL: {'90' if busy else '1.9'}% user + {'5' if busy else '1.2'}% kernel\n"
    )


def meminfo(device: VirtualDevice) -> str:
    total = device.profile.mem_total_kb
    return f"Total RAM: {total:,}K (status normal)\n Free RAM: {total * 2 // 5:,}K\n Used RAM: {total * 3 // 5:,}K\n"


async def run(device: VirtualDevice, args: list[str], io: IO) -> int:
    if not args:
        await io.print("".join(f"  {s}\n" for s in sorted(SERVICES)))
        return 0
    name = args[0]
    text = {
        "battery": battery,
        "SurfaceFlinger": surfaceflinger,
        "thermalservice": thermalservice,
        "cpuinfo": cpuinfo,
        "meminfo": meminfo,
    }.get(name)
    if name == "power":
        await io.print(
            f"POWER MANAGER (dumpsys power)\n\n  mWakefulness={'Awake' if device.screen_on else 'Asleep'}\n"
            f"  mIsPowered={str(device.profile.battery.usb_powered or device.profile.battery.ac_powered).lower()}\n"
        )
        return 0
    if text is None:
        await io.eprint(f"Can't find service: {name}\n")
        return 0
    await io.print(text(device))
    return 0
