# One file (over 600 lines): VirtualDevice is the one object (files, properties, temperature, shell) every other part is handed.
"""What a virtual phone is and does: its files, properties, temperature and shell.

Why: no machine in this project has a phone, yet the farm's agent, probe and benchmark
code must run end to end against something that answers like one. The transport
(transport.py, services.py) speaks adb's wire protocol; this module is the phone behind it.

Design choices:
- The phone's file system is a sandbox directory on the host. Every phone path goes
  through `resolve()`, which refuses anything that would leave the sandbox (`..` above the
  root, symlinks pointing out), so neither the shell nor a sync push can touch host files.
- Commands are interpreted by device_agent.virtual.shell, never by a host shell.
- Files whose content changes with time on a real phone (thermal zones, current CPU
  frequencies, battery temperature) are rewritten from the models below whenever a path
  under /sys or /proc is resolved, so `adb pull` and `cat` see the same live values.
- The property `ro.phonefarm.virtual=1` (and the timing mode) are always present, so a
  result from a virtual phone can never pass for a real phone's.
"""

from __future__ import annotations

import errno
import math
import os
import posixpath
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

# Imported for its registration: the shell runs a pushed benchmark_model through sh.programs,
# where the benchmark package registers it; every phone with a shell is a VirtualDevice, so it is here.
from contracts.settings import get_settings
from device_agent.virtual.benchmark import interpreter as interpreter_processes
from device_agent.virtual.phone_net import PhoneNet
from device_agent.virtual.profile import Cluster, Profile, list_profiles, load_profile
from device_agent.virtual.sh.access import check_access
from device_agent.virtual.sh.logbuf import LogBuffer
from device_agent.virtual.sh.procs import ProcessTable
from device_agent.virtual.sh.quota import DiskQuota
from device_agent.virtual.thermal import BatteryModel, Governor, busy_heat_c

if TYPE_CHECKING:
    from device_agent.virtual.sh.stdin import Stdin

__all__ = ["Faults", "SandboxError", "ThermalModel", "VirtualDevice", "list_profiles"]

TIMING_MODES = ("host", "profile", "sim")

# Phone directories a shell user may write to; everything else is read-only, as for
# adb's `shell` user on a production build.
WRITABLE_PREFIXES = ("/data/local/tmp", "/sdcard", "/storage/emulated/0")
# Read-only areas that are a separate read-only mount on a real phone (EROFS); the
# rest (/, /data, /sys, /proc) answer EACCES like the real permissions do.
READ_ONLY_MOUNTS = ("/system", "/vendor", "/product")


class SandboxError(OSError):
    """A phone path that would leave the sandbox, or a write the phone would refuse."""


@dataclass
class Faults:
    """Faults a test switches on and off while the phone runs.

    The transport enforces the connection faults (first three); the device enforces the
    benchmark and thermal ones.
    """

    disconnect_after_bytes: int | None = None
    hang: bool = False
    bandwidth_bytes_per_s: int | None = None
    disconnect_during_benchmark: bool = False
    benchmark_crash_signal: int | None = None
    benchmark_hang: bool = False
    # Thermal overrides (None = the profile's value).
    heat_per_inference_mc: float | None = None
    ambient_c: float | None = None
    tau_heat_s: float | None = None
    tau_battery_s: float | None = None
    # Slower inferences: `slowdown` for every benchmark invocation (a regression, a background
    # load); `trial_slowdowns` for the next invocations, one value each (a jittery phone).
    slowdown: float = 1.0
    trial_slowdowns: list[float] = field(default_factory=list)
    # The die is at least this hot (°C) from when it is set: a phone fresh from a pocket or a car.
    hot: float | None = None
    # Numerics: standard deviation of deterministic noise added to GPU outputs (a delegate that
    # changes the answer), on top of the fp16 rounding every virtual GPU run has.
    gpu_output_noise: float = 0.0
    # A phone whose inferences take this long on its own clock (x slowdown, with 2 % noise),
    # whatever the host's load: the host's timing noise is not the phone's. The tool still
    # runs the model; it waits out the rest of the time instead of reporting the host's.
    inference_us: float | None = None


@dataclass
class _ThermalState:
    t: float  # time of the state
    die: float  # rise of the die above ambient, °C
    battery: float  # rise of the battery above ambient, °C


@dataclass
class ThermalModel:
    """Two first-order lags: load heats the die, the die heats the battery, both cool to ambient.

    Each inference adds `heat_per_inference_mc` milli-°C to the die's rise (an impulse);
    between inferences the rise decays with time constant `tau_heat_s`. The battery's rise
    follows the die's with `tau_battery_s` (closed form, so results do not depend on how
    often the model is read). The die's rise saturates at `max_rise_c`, where a real
    phone would throttle. Time comes from `clock`, so tests inject time instead of sleeping.
    """

    profile: Profile
    faults: Faults
    clock: Callable[[], float] = time.monotonic
    _state: _ThermalState | None = None
    _last_load: float = -math.inf
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _hot_applied: float | None = None

    def _params(self) -> tuple[float, float, float, float]:
        th, f = self.profile.thermal, self.faults
        return (
            f.ambient_c if f.ambient_c is not None else th.ambient_c,
            f.tau_heat_s if f.tau_heat_s is not None else th.tau_heat_s,
            f.tau_battery_s if f.tau_battery_s is not None else th.tau_battery_s,
            f.heat_per_inference_mc if f.heat_per_inference_mc is not None else th.heat_per_inference_mc,
        )

    def _advance(self) -> _ThermalState:
        now = self.clock()
        if self._state is None:
            self._state = _ThermalState(now, 0.0, 0.0)
            return self._state
        s = self._state
        dt = max(0.0, now - s.t)
        if dt:
            _, tau, tau_b, _ = self._params()
            d0, b0 = s.die, s.battery
            die = d0 * math.exp(-dt / tau)
            if abs(tau - tau_b) < 1e-9:
                battery = (b0 + d0 * dt / tau) * math.exp(-dt / tau)
            else:
                a = d0 * tau / (tau - tau_b)
                battery = a * math.exp(-dt / tau) + (b0 - a) * math.exp(-dt / tau_b)
            self._state = s = _ThermalState(now, die, battery)
        hot = self.faults.hot
        if hot is not None and hot != self._hot_applied:
            s.die = min(self.profile.thermal.max_rise_c, max(s.die, hot - self._params()[0]))
            self._hot_applied = hot
        return s

    def add_load(self, inferences: int = 1) -> None:
        with self._lock:
            s = self._advance()
            heat = self._params()[3] * inferences / 1000.0
            s.die = min(self.profile.thermal.max_rise_c, s.die + heat)
            self._last_load = s.t

    def add_busy(self, seconds: float) -> None:
        """Heat from `seconds` of full load (sim and profile timing): see thermal.busy_heat_c."""
        with self._lock:
            s = self._advance()
            s.die = min(
                self.profile.thermal.max_rise_c, s.die + busy_heat_c(self.profile, seconds, self._params()[1])
            )
            self._last_load = s.t

    def die_c(self) -> float:
        with self._lock:
            return self._params()[0] + self._advance().die

    def battery_c(self) -> float:
        with self._lock:
            return self._params()[0] + self._advance().battery

    def busy(self, window_s: float = 1.0) -> bool:
        """Whether the CPU ran an inference within the last `window_s` seconds."""
        return self.clock() - self._last_load <= window_s

    def throttled(self) -> bool:
        with self._lock:
            return self._advance().die > 0.8 * self.profile.thermal.max_rise_c

    def zone_temps_mc(self) -> list[int]:
        """Millidegrees per thermal zone, in the profile's zone order."""
        die, batt = self.die_c(), self.battery_c()
        ambient = self._params()[0]
        out = []
        for i, name in enumerate(self.profile.thermal.zones):
            low = name.lower()
            if "batt" in low:
                value = batt
            elif any(
                w in low for w in ("cpu", "big", "mid", "little", "tsens", "atlas", "apollo", "soc", "kryo")
            ):
                value = die + 0.15 * (i % 4)
            elif any(w in low for w in ("skin", "therm", "xo", "pmic", "charger", "usb", "disp", "quiet")):
                value = ambient + 0.5 * (die - ambient) + 0.1 * (i % 3)
            else:
                value = ambient + 0.8 * (die - ambient) + 0.1 * (i % 5)
            out.append(round(value * 1000))
        return out


Writer = Callable[[bytes], Awaitable[None]]


class VirtualDevice:
    """One virtual phone: a profile, a sandbox directory, faults and a thermal state."""

    def __init__(
        self,
        profile: Profile,
        *,
        serial: str | None = None,
        root: Path | None = None,
        timing_mode: str = "host",
        faults: Faults | None = None,
        auth_required: bool = False,
        allowed_keys: list[bytes] | None = None,
        clock: Callable[[], float] = time.monotonic,
        as_real: bool = False,
    ) -> None:
        if timing_mode not in TIMING_MODES:
            raise ValueError(f"timing_mode must be one of {TIMING_MODES}, not {timing_mode!r}")
        self.profile = profile
        self._serial_given = serial is not None
        self.serial = serial or profile.props["ro.serialno"]
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if root is None:
            self._tmp = tempfile.TemporaryDirectory(prefix=f"phonefarm-{profile.id}-")
            root = Path(self._tmp.name)
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve()
        self.timing_mode = timing_mode
        self.as_real = as_real  # no ro.phonefarm.* props, no stub: the farm must treat it as a real phone
        self.faults = faults or Faults()
        self.auth_required = auth_required
        self.allowed_keys: list[bytes] = list(allowed_keys or [])
        self.on_disconnect: Callable[[], None] | None = None
        self.clock = clock
        self.thermal = ThermalModel(profile, self.faults, clock)
        self.battery = BatteryModel(profile, clock)
        self._refreshed_at = -math.inf
        self._dynamic_text: dict[str, str] = {}  # what refresh_dynamic last wrote, by phone path
        self._was_throttled = False
        self.settings: dict[tuple[str, str], str] = {
            ("global", "stay_on_while_plugged_in"): "0",
            ("system", "screen_off_timeout"): "30000",
            ("global", "airplane_mode_on"): "0",
        }
        self.screen_on = True
        self.boot_time = time.time() - 3 * 3600
        # The running system: processes (shells, commands, the benchmark), the log ring
        # buffer, and properties set at run time (`setprop debug.*`/`persist.*`).
        self.procs = ProcessTable()
        self.logs = LogBuffer()
        self.set_props: dict[str, str] = {}
        self.net = PhoneNet()
        self._populate()
        self.quota = DiskQuota(self.root, profile.quota_mb << 20)  # every sandbox write is charged here
        # what one process may use before the low-memory killer kills it: half the phone's RAM,
        # at most FARM_VIRTUAL_PROCESS_MB (the benchmark's interpreter process gets this budget)
        self.process_memory_kb = min(profile.mem_total_kb // 2, get_settings().virtual_process_mb * 1024)
        self.logs.add("I", "ActivityManager", "System now ready", pid=880)

    # -- the contract ------------------------------------------------------------------------

    @classmethod
    def from_profile(
        cls,
        name_or_path: str,
        *,
        serial: str | None = None,
        root: Path | None = None,
        timing_mode: str = "host",
        faults: Faults | None = None,
        auth_required: bool = False,
        allowed_keys: list[bytes] | None = None,
        clock: Callable[[], float] = time.monotonic,
        as_real: bool = False,
    ) -> VirtualDevice:
        return cls(
            load_profile(name_or_path),
            serial=serial,
            root=root,
            timing_mode=timing_mode,
            faults=faults,
            auth_required=auth_required,
            allowed_keys=allowed_keys,
            clock=clock,
            as_real=as_real,
        )

    @property
    def faults(self) -> Faults:
        return self._faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        self._faults = value
        if hasattr(self, "thermal"):
            self.thermal.faults = value

    def props(self) -> dict[str, str]:
        p = dict(self.profile.props)
        if self._serial_given:
            p["ro.serialno"] = self.serial
        p.setdefault("ro.boot.serialno", p["ro.serialno"])
        p.setdefault("ro.product.cpu.abi", "arm64-v8a")
        p.setdefault("ro.build.version.security_patch", p.get("ro.vendor.build.security_patch", "2021-10-05"))
        p.setdefault("ro.debuggable", "0")
        p.setdefault("ro.secure", "1")
        p.setdefault("ro.adb.secure", "1" if self.auth_required else "0")
        p.setdefault("sys.boot_completed", "1")
        p.setdefault("init.svc.adbd", "running")
        p.setdefault("service.adb.root", "0")
        if self.as_real:
            return p
        p["ro.phonefarm.virtual"] = "1"
        p["ro.phonefarm.timing_mode"] = self.timing_mode
        p["ro.phonefarm.profile"] = self.profile.id
        p.update(self.set_props)
        return p

    def setprop(self, name: str, value: str) -> bool:
        """What the shell user may set: debug.*, persist.debug.*, log.tag.* (+ persist.* here).

        ro.* can never change once set; other namespaces need a system uid."""
        if len(name) > 255 or len(value) > 91 or not name or name.startswith("ro."):
            return False
        if not name.startswith(("debug.", "persist.", "log.tag", "vendor.debug.")):
            return False
        self.set_props[name] = value
        return True

    def banner_props(self) -> dict[str, str]:
        p = self.profile.props
        return {k: p[k] for k in ("ro.product.name", "ro.product.model", "ro.product.device")}

    def resolve(self, path: str, *, cwd: str = "/", write: bool = False) -> Path:
        """The host path for a phone path, confined to the sandbox.

        Raises SandboxError (EACCES) for `..` above the root or a symlink leading outside
        the sandbox; with write=True also for paths the shell user may not write
        (EROFS under /system, /vendor, /product, EACCES elsewhere outside the writable areas).
        """
        phone = self.phone_path(path, cwd)
        if write and not self.writable(phone):
            if any(phone == m or phone.startswith(m + "/") for m in READ_ONLY_MOUNTS):
                raise SandboxError(errno.EROFS, "Read-only file system", path)
            raise SandboxError(errno.EACCES, "Permission denied", path)
        local = self.root / phone.lstrip("/") if phone != "/" else self.root
        real = Path(os.path.realpath(local))
        if real != self.root and not real.is_relative_to(self.root):
            raise SandboxError(errno.EACCES, "Permission denied", path)
        if phone.startswith(("/sys/", "/proc/")) or phone in ("/sys", "/proc"):
            self.refresh_dynamic()
        return local

    def phone_path(self, path: str, cwd: str = "/") -> str:
        """Normalise a phone path lexically; refuses `..` above `/` and NUL bytes."""
        if "\0" in path:
            raise SandboxError(errno.EINVAL, "Invalid argument", path)
        if not path:
            raise SandboxError(errno.ENOENT, "No such file or directory", path)
        full = path if path.startswith("/") else posixpath.join(cwd or "/", path)
        parts: list[str] = []
        for part in full.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    raise SandboxError(errno.EACCES, "Permission denied", path)
                parts.pop()
            else:
                parts.append(part)
        return "/" + "/".join(parts)

    def writable(self, phone_path: str) -> bool:
        return any(phone_path == w or phone_path.startswith(w + "/") for w in WRITABLE_PREFIXES)

    async def shell(
        self,
        command: str,
        stdout: Writer,
        stderr: Writer,
        *,
        pty: bool = False,
        stdin: Stdin | None = None,
    ) -> int:
        from device_agent.virtual.shell import Shell

        return await Shell(self, stdout, stderr, pty=pty, stdin=stdin).run(command)

    def read_file(self, path: str, *, cwd: str = "/", limit: int = 1 << 16) -> bytes:
        """A phone file's bytes as a reader sees them: device nodes and /proc included.

        /dev/zero and /dev/urandom are endless: `limit` bytes of them. /proc/stat and
        /proc/<pid>/ come from the process table and the thermal model."""
        phone = self.phone_path(path, cwd)
        if phone == "/dev/null":
            return b""
        if phone == "/dev/zero":
            return bytes(limit)
        if phone in ("/dev/urandom", "/dev/random"):
            return os.urandom(limit)
        dynamic = self.proc_file(phone)
        if dynamic is not None:
            return dynamic
        host = self.resolve(phone)
        if host.is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
        check_access(host, "r", shell_owned=self.writable(phone))
        return host.read_bytes()

    def proc_file(self, phone: str) -> bytes | None:
        """/proc/stat and /proc/<pid>/{cmdline,comm,stat,status}; None for other paths."""
        if phone == "/proc/stat":
            return self.proc_stat().encode()
        parts = phone.split("/")
        if len(parts) == 4 and parts[1] == "proc" and parts[2].isdecimal():
            proc = self.procs.get(int(parts[2]))
            if proc is None:
                raise FileNotFoundError(errno.ENOENT, "No such file or directory", phone)
            if parts[3] == "cmdline":
                return b"".join(a.encode() + b"\0" for a in proc.args)
            if parts[3] == "comm":
                return proc.name[:15].encode() + b"\n"
            if parts[3] == "stat":
                return f"{proc.pid} ({proc.name[:15]}) {proc.state} {proc.ppid} {proc.pid} 0 0 -1\n".encode()
            if parts[3] == "status":
                return (
                    f"Name:\t{proc.name[:15]}\nState:\t{proc.state}\nPid:\t{proc.pid}\nPPid:\t{proc.ppid}\n"
                    f"VmRSS:\t{proc.rss_kb} kB\n"
                ).encode()
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", phone)
        return None

    def proc_stat(self) -> str:
        """Jiffies since boot split per CPU, busier while the benchmark runs."""
        up = max(1, int((time.time() - self.boot_time) * 100))
        busy = self.thermal.busy()
        rows = []
        tot = [0] * 7
        for cpu in range(self.profile.cores):
            user = up // (3 if busy else 12) + cpu * 7
            system = up // 25
            idle = max(0, up - user - system)
            row = [user, up // 400, system, idle, up // 900, up // 2000, up // 3000]
            tot = [a + b for a, b in zip(tot, row, strict=True)]
            rows.append(f"cpu{cpu} " + " ".join(map(str, row)) + " 0 0 0\n")
        head = "cpu  " + " ".join(map(str, tot)) + " 0 0 0\n"
        procs = len(self.procs.procs)
        return (
            head
            + "".join(rows)
            + f"intr {up * 40}\nctxt {up * 90}\nbtime {int(self.boot_time)}\nprocesses {procs + 20000}\n"
            + f"procs_running {1 + busy}\nprocs_blocked 0\nsoftirq {up * 11}\n"
        )

    # -- the sandbox's contents ---------------------------------------------------------------

    def _write(self, phone: str, text: str | bytes, mode: int = 0o444) -> None:
        local = self.root / phone.lstrip("/")
        local.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode() if isinstance(text, str) else text
        local.write_bytes(data)
        os.chmod(local, mode)

    def _write_dynamic(self, phone: str, text: str) -> None:
        """A file that changes with time: rewritten only when its text changed (a snapshot reads
        twenty zones, and rewriting ~40 files with their directories and modes cost ~10 ms)."""
        if self._dynamic_text.get(phone) == text and (self.root / phone.lstrip("/")).exists():
            return
        self._write(phone, text)
        self._dynamic_text[phone] = text

    def _populate(self) -> None:
        p = self.profile
        for d in ("data/local/tmp", "sdcard/Download", "system/bin", "vendor/lib64", "dev", "product", "etc"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root / "data/local/tmp", 0o771)  # noqa: S103 - as on a phone, inside the sandbox
        self._write("/proc/cpuinfo", p.cpuinfo)
        self._write("/proc/version", self.uname_version() + "\n")
        self._write("/proc/sys/kernel/osrelease", p.kernel + "\n")
        self._write("/system/build.prop", "".join(f"{k}={v}\n" for k, v in sorted(p.props.items())), 0o600)
        self._write("/system/bin/sh", b"\x7fELF\x02\x01\x01" + b"\0" * 57, 0o755)
        self._write("/system/bin/toybox", b"\x7fELF\x02\x01\x01" + b"\0" * 57, 0o755)
        self._write("/etc/hosts", "127.0.0.1       localhost\n::1             ip6-localhost\n")
        cpus = p.cores
        self._write("/sys/devices/system/cpu/possible", f"0-{cpus - 1}\n")
        self._write("/sys/devices/system/cpu/present", f"0-{cpus - 1}\n")
        self._write("/sys/devices/system/cpu/online", f"0-{cpus - 1}\n")
        first = 0
        for cl in p.clusters:
            related = " ".join(str(i) for i in range(first, first + cl.cores))
            steps = _freq_steps(cl.min_freq_khz, cl.max_freq_khz)
            for cpu in range(first, first + cl.cores):
                base = f"/sys/devices/system/cpu/cpu{cpu}/cpufreq"
                self._write(f"{base}/cpuinfo_max_freq", f"{cl.max_freq_khz}\n")
                self._write(f"{base}/cpuinfo_min_freq", f"{cl.min_freq_khz}\n")
                self._write(f"{base}/scaling_max_freq", f"{cl.max_freq_khz}\n")
                self._write(f"{base}/scaling_min_freq", f"{cl.min_freq_khz}\n")
                self._write(f"{base}/scaling_governor", "schedutil\n" if p.sdk >= 28 else "interactive\n")
                self._write(f"{base}/affected_cpus", related + "\n")
                self._write(f"{base}/related_cpus", related + "\n")
                self._write(f"{base}/scaling_available_frequencies", " ".join(map(str, steps)) + " \n")
                self._write(f"/sys/devices/system/cpu/cpu{cpu}/online", "1\n")
            first += cl.cores
        for i, name in enumerate(p.thermal.zones):
            self._write(f"/sys/class/thermal/thermal_zone{i}/type", name + "\n")
            self._write(f"/sys/class/thermal/thermal_zone{i}/mode", "enabled\n")
            self._write(f"/sys/class/thermal/thermal_zone{i}/policy", "step_wise\n")
        b = p.battery
        bat = "/sys/class/power_supply/battery"
        self._write(f"{bat}/type", "Battery\n")
        self._write(f"{bat}/present", "1\n")
        self._write(f"{bat}/health", b.health + "\n")
        self._write(f"{bat}/technology", b.technology + "\n")
        self._write(f"{bat}/voltage_now", f"{b.voltage_mv * 1000}\n")
        self.refresh_dynamic()

    def uname_version(self) -> str:
        return (
            f"Linux version {self.profile.kernel} (android-build@phonefarm-virtual) "
            "(clang version 12.0.5) #1 SMP PREEMPT Thu Jan 1 00:00:00 UTC 2024"
        )

    def battery_status(self) -> str:
        return self.profile.battery.status

    def cur_freqs(self) -> list[int]:
        busy, throttled = self.thermal.busy(), self.thermal.throttled()
        coupled = self.timing_mode in ("sim", "profile")
        cap = Governor.for_profile(self.profile).scale(self.thermal.die_c()) if coupled else 1.0
        top = max(c.max_freq_khz for c in self.profile.clusters)
        out = []
        for cl in self.profile.clusters:
            if not busy:
                f = cl.min_freq_khz
            elif coupled:  # the governor caps the big cores (thermal.Governor)
                f = (
                    _nearest_step(cl, cap * cl.max_freq_khz)
                    if cl.max_freq_khz >= 0.8 * top
                    else cl.max_freq_khz
                )
            elif throttled:
                f = _nearest_step(cl, 0.75 * cl.max_freq_khz)
            else:
                f = cl.max_freq_khz
            out += [f] * cl.cores
        return out

    def refresh_dynamic(self) -> None:
        """Rewrite the files that change with time (thermal, frequencies, battery).

        At most every 50 ms of the phone's clock: a farm reads twenty zones in one command,
        and rewriting every file for each of them made a snapshot cost 400 ms."""
        now = self.thermal.clock()
        if now - self._refreshed_at < 0.05:
            return
        self._refreshed_at = now
        throttled = self.thermal.throttled()
        if throttled != self._was_throttled and hasattr(self, "logs"):
            self._was_throttled = throttled
            if throttled:
                self.logs.add(
                    "W",
                    "thermal-engine",
                    f"Mitigation: CPU max freq reduced, die at {self.thermal.die_c():.1f}C",
                    pid=1403,
                )
            else:
                self.logs.add("I", "thermal-engine", "Mitigation cleared: CPU max freq restored", pid=1403)
        for i, mc in enumerate(self.thermal.zone_temps_mc()):
            self._write_dynamic(f"/sys/class/thermal/thermal_zone{i}/temp", f"{mc}\n")
        for cpu, f in enumerate(self.cur_freqs()):
            self._write_dynamic(f"/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_cur_freq", f"{f}\n")
        bat = "/sys/class/power_supply/battery"
        self._write_dynamic(f"{bat}/capacity", f"{self.battery.level()}\n")
        self._write_dynamic(f"{bat}/status", self.battery_status() + "\n")
        self._write_dynamic(f"{bat}/temp", f"{round(self.thermal.battery_c() * 10)}\n")
        self._write_dynamic("/proc/meminfo", self.meminfo())
        self._write_dynamic(
            "/proc/uptime", f"{time.time() - self.boot_time:.2f} {4 * (time.time() - self.boot_time):.2f}\n"
        )
        # Counted from the end: on a slow disk a refresh can take longer than the interval, and
        # counting from the start made every read of a long command refresh again.
        self._refreshed_at = self.thermal.clock()

    def meminfo(self) -> str:
        total = self.profile.mem_total_kb
        free = total // 9
        avail = total * 2 // 5
        rows = [
            ("MemTotal", total),
            ("MemFree", free),
            ("MemAvailable", avail),
            ("Buffers", total // 400),
            ("Cached", total // 4),
            ("SwapCached", 0),
            ("Active", total // 4),
            ("Inactive", total // 5),
            ("SwapTotal", total // 2),
            ("SwapFree", total // 3),
            ("Dirty", 128),
            ("Shmem", total // 150),
            ("Slab", total // 40),
            ("VmallocTotal", 263061440),
            ("CmaTotal", 0),
        ]
        return "".join(f"{k + ':':<16}{v:>8} kB\n" for k, v in rows)

    def close(self) -> None:
        interpreter_processes.close_for(self)  # the phone's benchmark interpreter processes
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _freq_steps(lo: int, hi: int) -> list[int]:
    n = 8
    return sorted({lo + (hi - lo) * i // (n - 1) // 100 * 100 for i in range(n - 1)} | {hi})


def _nearest_step(cl: Cluster, target: float) -> int:
    return min(_freq_steps(cl.min_freq_khz, cl.max_freq_khz), key=lambda f: abs(f - target))
