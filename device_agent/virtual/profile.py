"""Phone profiles: what a virtual phone reports about itself, loaded from one TOML file per phone.

Why data files and not code: adding a phone to the virtual farm should be adding a file
whose values can be checked line by line against a real phone's `getprop`, `/proc/cpuinfo`
and `dumpsys` dumps. Validation is strict (unknown tables and missing keys are errors) so
that a typo in a profile fails at load time instead of producing a phone that quietly
reports nonsense to the identity code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROFILE_DIR = Path(__file__).with_name("profiles")
DELEGATES = ("cpu", "xnnpack", "gpu", "nnapi")
REQUIRED_PROPS = (
    "ro.product.manufacturer",
    "ro.product.brand",
    "ro.product.model",
    "ro.product.device",
    "ro.product.name",
    "ro.product.board",
    "ro.board.platform",
    "ro.hardware",
    "ro.build.version.release",
    "ro.build.version.sdk",
    "ro.build.fingerprint",
    "ro.product.cpu.abi",
    "ro.product.cpu.abilist",
    "ro.serialno",
)


class ProfileError(ValueError):
    """A profile file is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class Cluster:
    """CPUs sharing one cpufreq policy (a big.LITTLE cluster)."""

    cores: int
    min_freq_khz: int
    max_freq_khz: int
    name: str = ""


@dataclass(frozen=True)
class Gpu:
    vendor: str
    renderer: str
    version: str


@dataclass(frozen=True)
class Battery:
    level: int
    status: str  # Charging, Discharging, Full, Not charging
    ac_powered: bool
    usb_powered: bool
    voltage_mv: int
    technology: str
    health: str = "Good"
    drain_pct_per_busy_hour: float = 20.0  # percent per hour of full load (sim/profile timing)
    charge_pct_per_hour: float = 10.0  # while status is Charging


@dataclass(frozen=True)
class Thermal:
    """First-order thermal model parameters (see device.ThermalModel)."""

    zones: tuple[str, ...]
    ambient_c: float
    tau_heat_s: float  # time constant of the die towards its steady state
    tau_battery_s: float  # the battery follows the die, more slowly
    heat_per_inference_mc: float  # steady-state rise per inference/s of load, in milli-°C
    max_rise_c: float  # a phone throttles before this; the model saturates there
    # sim/profile timing (thermal.py): rise under continuous load, governor trip and floor
    full_load_rise_c: float = 40.0  # steady-state die rise above ambient at 100 % busy
    trip_c: float = 49.0  # die temperature (°C) where the governor starts capping the big cores
    throttle_floor: float = 0.55  # the cap's lowest value, as a fraction of the maximum frequency


@dataclass(frozen=True)
class Unit:
    """One compute unit's effective throughput for the sim cost model (sim_timing.py)."""

    gmacs: float  # effective multiply-accumulates per second, 1e9, at the maximum frequency
    gbps: float  # effective bytes moved per second, 1e9
    op_us: float  # fixed cost per op (dispatch, kernel launch)


@dataclass(frozen=True)
class Sim:
    """Per-delegate throughput, transfer costs and noise for `sim` timing mode."""

    units: dict[str, Unit]
    transfer_gbps: float = 4.0  # tensors crossing a delegate boundary
    partition_us: float = 150.0  # fixed cost per delegate partition boundary crossed
    invoke_us: float = 30.0  # per inference (Invoke overhead)
    jitter_pct: float = 0.8  # per-inference noise (log-normal sigma, %)
    trial_pct: float = 0.25  # per-invocation offset (background state), %
    spike_prob: float = 0.004  # chance an inference meets a background-load spike
    spike_pct: float = 25.0  # a spike's mean extra time, %
    sources: str = ""


@dataclass(frozen=True)
class Profile:
    id: str
    description: str
    props: dict[str, str]
    cpuinfo: str
    mem_total_kb: int
    clusters: tuple[Cluster, ...]
    gpu: Gpu
    thermal: Thermal
    battery: Battery
    delegates: tuple[str, ...]
    speed_factor: dict[str, float]
    kernel: str = "4.9.0"
    # builtin ops this phone's GPU delegate refuses (they fall back to the CPU), on top of the 2.16 list
    gpu_unsupported_ops: frozenset[str] = frozenset()
    storage_kb: int = 57_000_000
    # what the sandbox may hold on the host (sh/quota.py): writes past it fail with ENOSPC
    quota_mb: int = 1024
    extra: dict[str, Any] = field(default_factory=dict)
    sim: Sim | None = None
    tool_version: str | None = None  # pins an older emulated benchmark_model (see tool_versions.py)

    @property
    def cores(self) -> int:
        return sum(c.cores for c in self.clusters)

    def core_max_freqs(self) -> list[int]:
        return [c.max_freq_khz for c in self.clusters for _ in range(c.cores)]

    @property
    def sdk(self) -> int:
        return int(self.props["ro.build.version.sdk"])


def list_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def _req(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise ProfileError(f"{where}: missing {key!r}")
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProfileError(f"{where}: {key!r} should be {kind}, got {type(value).__name__}")
    return value


def _only(table: dict[str, Any], keys: set[str], where: str) -> None:
    unknown = set(table) - keys
    if unknown:
        raise ProfileError(f"{where}: unknown keys {sorted(unknown)}")


def load_profile(name_or_path: str | Path) -> Profile:
    """A profile by id (a file in profiles/) or by path to a .toml file."""
    text = str(name_or_path)
    path = Path(text) if text.endswith(".toml") or "/" in text else PROFILE_DIR / f"{text}.toml"
    if not path.is_file():
        raise ProfileError(f"no such profile {text!r}; known: {', '.join(list_profiles())}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(f"{path}: {exc}") from exc
    return parse_profile(data, path.stem, str(path))


def parse_profile(data: dict[str, Any], default_id: str, where: str) -> Profile:
    _only(
        data,
        {
            "id",
            "description",
            "kernel",
            "storage_kb",
            "quota_mb",
            "props",
            "cpu",
            "memory",
            "gpu",
            "thermal",
            "battery",
            "delegates",
            "extra",
            "sim",
            "tool_version",
        },
        where,
    )
    pid = str(data.get("id", default_id))
    props_t = _req(data, "props", dict, where)
    props = {str(k): str(v) for k, v in props_t.items()}
    for key in REQUIRED_PROPS:
        if not props.get(key):
            raise ProfileError(f"{where}: props lacks {key!r}")
    if props["ro.product.cpu.abi"] not in props["ro.product.cpu.abilist"].split(","):
        raise ProfileError(f"{where}: ro.product.cpu.abi is not in ro.product.cpu.abilist")
    if not props["ro.build.version.sdk"].isdigit():
        raise ProfileError(f"{where}: ro.build.version.sdk is not a number")
    if int(props["ro.build.version.sdk"]) >= 31 and not props.get("ro.soc.model"):
        raise ProfileError(f"{where}: Android 12+ phones report ro.soc.model")

    cpu = _req(data, "cpu", dict, where)
    _only(cpu, {"cpuinfo", "clusters"}, f"{where} [cpu]")
    clusters = []
    for i, c in enumerate(_req(cpu, "clusters", list, f"{where} [cpu]")):
        w = f"{where} [cpu].clusters[{i}]"
        _only(c, {"cores", "min_freq_khz", "max_freq_khz", "name"}, w)
        cl = Cluster(
            _req(c, "cores", int, w),
            _req(c, "min_freq_khz", int, w),
            _req(c, "max_freq_khz", int, w),
            str(c.get("name", "")),
        )
        if cl.cores < 1 or not 0 < cl.min_freq_khz <= cl.max_freq_khz:
            raise ProfileError(f"{w}: inconsistent cores/frequencies")
        clusters.append(cl)
    if not clusters:
        raise ProfileError(f"{where}: no CPU clusters")
    cpuinfo = _req(cpu, "cpuinfo", str, f"{where} [cpu]")
    n_proc = cpuinfo.count("processor\t:")
    if n_proc != sum(c.cores for c in clusters):
        raise ProfileError(
            f"{where}: cpuinfo lists {n_proc} processors, clusters {sum(c.cores for c in clusters)}"
        )

    mem = _req(data, "memory", dict, where)
    g = _req(data, "gpu", dict, where)
    _only(g, {"vendor", "renderer", "version"}, f"{where} [gpu]")
    gpu = Gpu(_req(g, "vendor", str, where), _req(g, "renderer", str, where), _req(g, "version", str, where))

    t = _req(data, "thermal", dict, where)
    w = f"{where} [thermal]"
    _only(
        t,
        {
            "zones",
            "ambient_c",
            "tau_heat_s",
            "tau_battery_s",
            "heat_per_inference_mc",
            "max_rise_c",
            "full_load_rise_c",
            "trip_c",
            "throttle_floor",
        },
        w,
    )
    ambient = _req(t, "ambient_c", float, w)
    max_rise = _req(t, "max_rise_c", float, w)
    thermal = Thermal(
        tuple(str(z) for z in _req(t, "zones", list, w)),
        ambient,
        _req(t, "tau_heat_s", float, w),
        _req(t, "tau_battery_s", float, w),
        _req(t, "heat_per_inference_mc", float, w),
        max_rise,
        _opt(t, "full_load_rise_c", 0.9 * max_rise, w),
        _opt(t, "trip_c", ambient + 0.45 * max_rise, w),
        _opt(t, "throttle_floor", 0.55, w),
    )
    if not 0 < thermal.throttle_floor <= 1:
        raise ProfileError(f"{w}: throttle_floor is a fraction in (0, 1]")
    if not thermal.zones or thermal.tau_heat_s <= 0 or thermal.tau_battery_s <= 0:
        raise ProfileError(f"{w}: needs zones and positive time constants")

    b = _req(data, "battery", dict, where)
    w = f"{where} [battery]"
    _only(
        b,
        {
            "level",
            "status",
            "ac_powered",
            "usb_powered",
            "voltage_mv",
            "technology",
            "health",
            "drain_pct_per_busy_hour",
            "charge_pct_per_hour",
        },
        w,
    )
    battery = Battery(
        _req(b, "level", int, w),
        _req(b, "status", str, w),
        _req(b, "ac_powered", bool, w),
        _req(b, "usb_powered", bool, w),
        _req(b, "voltage_mv", int, w),
        _req(b, "technology", str, w),
        str(b.get("health", "Good")),
        _opt(b, "drain_pct_per_busy_hour", 20.0, w),
        _opt(b, "charge_pct_per_hour", 10.0, w),
    )

    d = _req(data, "delegates", dict, where)
    w = f"{where} [delegates]"
    _only(d, {"available", "speed_factor", "gpu_unsupported_ops"}, w)
    gpu_unsupported = frozenset(str(x).upper() for x in d.get("gpu_unsupported_ops", []))
    available = tuple(str(x) for x in _req(d, "available", list, w))
    bad = [x for x in available if x not in DELEGATES]
    if bad or "cpu" not in available:
        raise ProfileError(f"{w}: delegates must be among {DELEGATES} and include cpu (got {available})")
    speed = {str(k): float(v) for k, v in _req(d, "speed_factor", dict, w).items()}
    missing = [x for x in available if x not in speed]
    if missing or any(v <= 0 for v in speed.values()):
        raise ProfileError(f"{w}: speed_factor needs a positive value for each of {available}")

    return Profile(
        id=pid,
        description=str(data.get("description", "")),
        props=props,
        cpuinfo=cpuinfo,
        mem_total_kb=_req(mem, "mem_total_kb", int, f"{where} [memory]"),
        clusters=tuple(clusters),
        gpu=gpu,
        thermal=thermal,
        battery=battery,
        delegates=available,
        speed_factor=speed,
        gpu_unsupported_ops=gpu_unsupported,
        kernel=str(data.get("kernel", "4.9.0")),
        storage_kb=int(data.get("storage_kb", 57_000_000)),
        quota_mb=_quota_mb(data, where),
        extra=dict(data.get("extra", {})),
        sim=_sim(data.get("sim"), tuple(clusters), available, where),
        tool_version=_tool_version(data, where),
    )


def _quota_mb(data: dict[str, Any], where: str) -> int:
    value = _req(data, "quota_mb", int, where) if "quota_mb" in data else 1024
    if value < 1:
        raise ProfileError(f"{where}: quota_mb must be at least 1")
    return int(value)


def _opt(table: dict[str, Any], key: str, default: float, where: str) -> float:
    return float(_req(table, key, float, where)) if key in table else float(default)


def default_units(clusters: tuple[Cluster, ...]) -> dict[str, Unit]:
    """Throughput when a profile has no [sim] table: from its big cluster's cores and clock.

    A rough, uncalibrated guess (4 fp32 MACs per cycle per big core at 30 % efficiency for
    XNNPACK on the fast clusters, 40 % of that on slower ones, half that for the reference kernels, the GPU 3x and NNAPI 2x XNNPACK); profiles
    used for figures carry calibrated [sim] tables with their sources instead."""
    top = max(c.max_freq_khz for c in clusters)
    peak = sum(
        c.cores * c.max_freq_khz / 1e6 * 4 * (1.0 if c.max_freq_khz >= 0.8 * top else 0.4) for c in clusters
    )
    x = 0.3 * peak
    return {
        "cpu": Unit(x / 2, 3.0, 8.0),
        "xnnpack": Unit(x, 5.0, 4.0),
        "gpu": Unit(3 * x, 8.0, 25.0),
        "nnapi": Unit(2 * x, 6.0, 20.0),
    }


def _sim(raw: Any, clusters: tuple[Cluster, ...], available: tuple[str, ...], where: str) -> Sim:
    w = f"{where} [sim]"
    units = default_units(clusters)
    if raw is None:
        return Sim(units, sources="uncalibrated defaults from the CPU clusters (profile.default_units)")
    if not isinstance(raw, dict):
        raise ProfileError(f"{w}: should be a table")
    scalars = {
        "transfer_gbps",
        "partition_us",
        "invoke_us",
        "jitter_pct",
        "trial_pct",
        "spike_prob",
        "spike_pct",
    }
    _only(raw, scalars | set(DELEGATES) | {"sources"}, w)
    for name in DELEGATES:
        if name in raw:
            u = _req(raw, name, dict, w)
            _only(u, {"gmacs", "gbps", "op_us"}, f"{w}.{name}")
            unit = Unit(
                _req(u, "gmacs", float, f"{w}.{name}"),
                _req(u, "gbps", float, f"{w}.{name}"),
                _req(u, "op_us", float, f"{w}.{name}"),
            )
            if unit.gmacs <= 0 or unit.gbps <= 0 or unit.op_us < 0:
                raise ProfileError(f"{w}.{name}: gmacs and gbps must be positive, op_us not negative")
            units[name] = unit
    values = {k: _opt(raw, k, getattr(Sim, k), w) for k in scalars}
    if values["spike_prob"] < 0 or values["spike_prob"] > 1:
        raise ProfileError(f"{w}: spike_prob is a probability")
    return Sim(units, sources=str(raw.get("sources", "")), **values)


def _tool_version(data: dict[str, Any], where: str) -> str | None:
    from device_agent.virtual.tool_versions import VERSIONS

    version = data.get("tool_version")
    if version is not None and version not in VERSIONS:
        raise ProfileError(f"{where}: tool_version must be one of {sorted(VERSIONS)}, not {version!r}")
    return None if version is None else str(version)
