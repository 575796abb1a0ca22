"""The virtual phone's contents: profiles, sandbox, sh interpreter, dumpsys, thermal model.

These call VirtualDevice.shell directly (no adb); the transport has its own tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest

from device_agent import identity
from device_agent.phone.snapshot import parse_dumpsys_battery, parse_zone_temp
from device_agent.virtual.device import Faults, SandboxError, VirtualDevice, list_profiles
from device_agent.virtual.profile import ProfileError, load_profile, parse_profile


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def sh(device: VirtualDevice, command: str, *, pty: bool = False) -> tuple[int, str, str]:
    out: list[bytes] = []
    err: list[bytes] = []

    async def w_out(b: bytes) -> None:
        out.append(b)

    async def w_err(b: bytes) -> None:
        err.append(b)

    rc = asyncio.run(device.shell(command, w_out, w_err, pty=pty))
    return rc, b"".join(out).decode(), b"".join(err).decode()


@pytest.fixture
def dev(tmp_path: Path) -> VirtualDevice:
    return VirtualDevice.from_profile("sdm845", root=tmp_path / "phone", clock=Clock())


# ---- profiles -------------------------------------------------------------------------------


def test_the_required_phones_exist() -> None:
    names = set(list_profiles())
    assert {"msm8953", "sdm845", "msm8937", "exynos7420", "sm8550", "gs201", "s5e9925"} <= names
    assert names & {"mt6893", "mt6983"}


@pytest.mark.parametrize("name", list_profiles())
def test_every_profile_is_identified_as_its_soc(name: str) -> None:
    """The farm's own identity code must name each virtual phone's SoC, unambiguously."""
    p = load_profile(name)
    soc = identity.identify(p.props, p.cpuinfo, p.core_max_freqs())
    assert soc.known and not soc.ambiguous, soc
    expected = {
        "msm8953": "Snapdragon 625",
        "sdm845": "Snapdragon 845",
        "msm8937": "Snapdragon 430",
        "msm8917": "Snapdragon 425",
        "exynos7420": "Exynos 7420",
        "sm8550": "Snapdragon 8 Gen 2",
        "mt6893": "Dimensity 1200",
        "gs201": "Tensor G2",
        "s5e9925": "Exynos 2200",
    }
    assert soc.name.startswith(expected[name])


def test_speed_factors_order_the_older_phones() -> None:
    cpu = {n: load_profile(n).speed_factor["cpu"] for n in ("sdm845", "msm8953", "exynos7420", "msm8937")}
    assert min(cpu, key=cpu.__getitem__) == "sdm845"
    assert max(cpu, key=cpu.__getitem__) == "msm8937"
    for n in list_profiles():
        f = load_profile(n).speed_factor
        if "gpu" in f:
            assert f["gpu"] < f["cpu"], n


def test_android_7_phones_have_no_nnapi() -> None:
    for n in list_profiles():
        p = load_profile(n)
        assert ("nnapi" in p.delegates) == (p.sdk >= 27), n


def test_profile_validation_rejects_nonsense(tmp_path: Path) -> None:
    import tomllib

    from device_agent.virtual.profile import PROFILE_DIR

    data = tomllib.loads((PROFILE_DIR / "sdm845.toml").read_text())
    data["props"].pop("ro.board.platform")
    with pytest.raises(ProfileError, match=r"ro\.board\.platform"):
        parse_profile(data, "bad", "bad.toml")
    with pytest.raises(ProfileError, match="no such profile"):
        load_profile("nokia3310")


# ---- getprop, banner ----------------------------------------------------------------------


def test_getprop_all_is_sorted_and_marks_virtual(dev: VirtualDevice) -> None:
    rc, out, err = sh(dev, "getprop")
    assert rc == 0 and err == ""
    lines = out.splitlines()
    keys = [line.split("]: [")[0][1:] for line in lines]
    assert keys == sorted(keys)
    assert "[ro.phonefarm.virtual]: [1]" in lines
    assert "[ro.phonefarm.timing_mode]: [host]" in lines
    assert "[ro.board.platform]: [sdm845]" in lines


def test_getprop_key_and_missing_key(dev: VirtualDevice) -> None:
    assert sh(dev, "getprop ro.product.model") == (0, "Pixel 3\n", "")
    assert sh(dev, "getprop ro.no.such.key") == (0, "\n", "")
    assert sh(dev, "getprop ro.no.such.key fallback") == (0, "fallback\n", "")


def test_banner_props_and_serial(tmp_path: Path) -> None:
    d = VirtualDevice.from_profile("gs201", serial="emu-7", root=tmp_path, timing_mode="profile")
    assert d.banner_props() == {
        "ro.product.name": "panther",
        "ro.product.model": "Pixel 7",
        "ro.product.device": "panther",
    }
    assert d.props()["ro.serialno"] == "emu-7"
    assert d.props()["ro.phonefarm.timing_mode"] == "profile"
    assert d.props()["ro.soc.model"] == "GS201"


# ---- quoting, chains, exit codes ----------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("echo 'a  b'  c", "a  b c\n"),
        ('echo "x $HOME y"', "x / y\n"),
        ("echo 'no $HOME'", "no $HOME\n"),
        ("echo a\\ \\ b", "a  b\n"),
        ('echo "q\\"uote"', 'q"uote\n'),
        ("false; echo $?", "1\n"),
        ("true && echo yes || echo no", "yes\n"),
        ("false && echo yes || echo no", "no\n"),
        ("false || false || echo third", "third\n"),
        ("X=1; echo ${X}2", "12\n"),
        ("echo -n a; echo b", "ab\n"),
        ("echo $(echo inner)", "inner\n"),
        ("echo one # comment", "one\n"),
    ],
)
def test_quoting_and_chains(dev: VirtualDevice, command: str, expected: str) -> None:
    assert sh(dev, command) == (0, expected, "")


def test_exit_codes(dev: VirtualDevice) -> None:
    assert sh(dev, "exit 3")[0] == 3
    assert sh(dev, "false")[0] == 1
    assert sh(dev, "true; exit")[0] == 0
    assert sh(dev, "echo a; exit 7; echo never") == (7, "a\n", "")


def test_unknown_command_is_127_with_mksh_wording(dev: VirtualDevice) -> None:
    rc, out, err = sh(dev, "frobnicate --now")
    assert rc == 127 and out == ""
    assert err == "/system/bin/sh: frobnicate: inaccessible or not found\n"
    assert sh(dev, "frobnicate; echo $?")[1] == "127\n"


def test_syntax_error(dev: VirtualDevice) -> None:
    rc, _, err = sh(dev, "echo 'open")
    assert rc != 0 and "syntax error" in err


def test_no_host_command_runs(dev: VirtualDevice, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for cmd in (f"touch {marker}", f"/bin/sh -c 'touch {marker}'", f'python3 -c \'open("{marker}","w")\''):
        sh(dev, cmd)
    assert not marker.exists()


# ---- files, redirections, sandbox --------------------------------------------------------


def test_redirections_and_files(dev: VirtualDevice) -> None:
    rc, out, err = sh(dev, "cd /data/local/tmp && echo one > f && echo two >> f && cat f")
    assert (rc, out, err) == (0, "one\ntwo\n", "")
    assert (dev.root / "data/local/tmp/f").read_text() == "one\ntwo\n"
    assert sh(dev, "cat /nope 2>/dev/null; echo $?") == (0, "1\n", "")
    assert sh(dev, "cat /nope 2>&1") == (1, "cat: /nope: No such file or directory\n", "")
    assert sh(dev, "echo x 1>&2") == (0, "", "x\n")


def test_read_only_areas(dev: VirtualDevice) -> None:
    assert sh(dev, "echo x > /system/evil") == (
        1,
        "",
        "/system/bin/sh: can't create /system/evil: Read-only file system\n",
    )
    rc, _, err = sh(dev, "mkdir /data/app2")
    assert rc == 1 and "Permission denied" in err
    rc, _, err = sh(dev, "rm -f /proc/cpuinfo")
    assert rc == 1 and "Permission denied" in err
    assert (dev.root / "proc/cpuinfo").exists()


@pytest.mark.parametrize(
    "path",
    ["../../../../etc/passwd", "/../../etc/passwd", "/data/local/tmp/../../../../../etc/passwd"],
)
def test_dotdot_escapes_are_refused(dev: VirtualDevice, path: str) -> None:
    rc, out, err = sh(dev, f"cat {path}")
    assert rc == 1 and out == "" and err.endswith(": Permission denied\n")
    assert "root:" not in out
    with pytest.raises(SandboxError):
        dev.resolve(path)


def test_symlink_escape_is_refused(dev: VirtualDevice, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    os.symlink(secret, dev.root / "data/local/tmp/link")
    os.symlink("/etc", dev.root / "data/local/tmp/etc")
    rc, out, err = sh(dev, "cat /data/local/tmp/link")
    assert rc == 1 and "host secret" not in out and "Permission denied" in err
    assert sh(dev, "ls /data/local/tmp/etc/")[0] == 1
    with pytest.raises(SandboxError):
        dev.resolve("/data/local/tmp/link")
    with pytest.raises(SandboxError):
        dev.resolve("/data/local/tmp/etc/passwd")


def test_resolve_stays_in_root(dev: VirtualDevice) -> None:
    assert dev.resolve("/data/local/tmp/x") == dev.root / "data/local/tmp/x"
    assert dev.resolve("x", cwd="/data/local/tmp") == dev.root / "data/local/tmp/x"
    assert dev.resolve("/") == dev.root
    with pytest.raises(SandboxError):
        dev.resolve("/data/local/tmp/a\0b")
    with pytest.raises(SandboxError) as exc:
        dev.resolve("/system/x", write=True)
    assert "Read-only" in str(exc.value)


def test_ls_mkdir_rm_chmod_sha256(dev: VirtualDevice) -> None:
    rc, _, err = sh(dev, "mkdir -p /data/local/tmp/a/b && cd /data/local/tmp && echo hi > a/b/f")
    assert (rc, err) == (0, "")
    assert sh(dev, "ls /data/local/tmp/a/b") == (0, "f\n", "")
    rc, out, _ = sh(dev, "ls -l /data/local/tmp/a/b")
    assert rc == 0 and out.startswith("total ")
    assert out.splitlines()[1].startswith("-rw-") and out.rstrip().endswith(" f")
    rc, out, _ = sh(dev, "ls -a /data/local/tmp/a")
    assert out.split() == [".", "..", "b"]
    digest = hashlib.sha256(b"hi\n").hexdigest()
    assert sh(dev, "sha256sum /data/local/tmp/a/b/f") == (0, f"{digest}  /data/local/tmp/a/b/f\n", "")
    assert sh(dev, "md5sum /data/local/tmp/a/b/f")[1].split()[0] == hashlib.md5(b"hi\n").hexdigest()
    assert sh(dev, "chmod 751 /data/local/tmp/a/b/f && stat -c %a /data/local/tmp/a/b/f") == (0, "751\n", "")
    assert (
        sh(
            dev,
            "chmod 600 /data/local/tmp/a/b/f; chmod +x /data/local/tmp/a/b/f; stat -c %a /data/local/tmp/a/b/f",
        )[1]
        == "711\n"
    )
    assert sh(dev, "rm /data/local/tmp/a") == (1, "", "rm: /data/local/tmp/a: Is a directory\n")
    assert sh(dev, "rm -r /data/local/tmp/a && ls /data/local/tmp/a")[0] == 1
    assert sh(dev, "rm /data/local/tmp/nope")[0] == 1
    assert sh(dev, "rm -f /data/local/tmp/nope")[0] == 0


def test_executing_files(dev: VirtualDevice) -> None:
    tmp = dev.root / "data/local/tmp"
    (tmp / "elf").write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 60)
    (tmp / "elf").chmod(0o644)
    assert sh(dev, "/data/local/tmp/missing")[0] == 127
    assert sh(dev, "/data/local/tmp/elf") == (
        126,
        "",
        "/system/bin/sh: /data/local/tmp/elf: can't execute: Permission denied\n",
    )
    (tmp / "elf").chmod(0o755)
    rc, _, err = sh(dev, "cd /data/local/tmp && ./elf")
    assert rc == 126 and "not executable: 64-bit ELF file" in err
    (tmp / "script.sh").write_text("echo from script\nexit 4\n")
    (tmp / "script.sh").chmod(0o755)
    assert sh(dev, "/data/local/tmp/script.sh") == (4, "from script\n", "")
    assert sh(dev, "sh -c 'echo in sub; exit 5'") == (5, "in sub\n", "")


def test_glob_pipe_and_taskset(dev: VirtualDevice) -> None:
    rc, out, _ = sh(dev, "cat /sys/devices/system/cpu/cpu*/cpufreq/cpuinfo_max_freq")
    assert rc == 0
    assert out.split() == ["1766400"] * 4 + ["2803200"] * 4
    assert sh(dev, "getprop | grep -c phonefarm")[1] == "3\n"
    assert sh(dev, "taskset f0 echo big") == (0, "big\n", "")
    assert sh(dev, "taskset f0 frob")[0] == 127
    assert sh(dev, "nproc") == (0, "8\n", "")


def test_pty_uses_crlf(dev: VirtualDevice) -> None:
    assert sh(dev, "echo a; echo b", pty=True)[1] == "a\r\nb\r\n"


def test_system_info_commands(dev: VirtualDevice) -> None:
    assert sh(dev, "whoami") == (0, "shell\n", "")
    assert sh(dev, "id")[1].startswith("uid=2000(shell) gid=2000(shell)")
    assert sh(dev, "uname -m") == (0, "aarch64\n", "")
    assert "MemTotal:" in sh(dev, "cat /proc/meminfo")[1]
    assert identity.parse_meminfo(sh(dev, "cat /proc/meminfo")[1]) == 3768116 // 1024
    assert "Hardware\t: Qualcomm Technologies, Inc SDM845" in sh(dev, "cat /proc/cpuinfo")[1]
    rc, out, _ = sh(dev, "df /data")
    assert rc == 0
    assert out.startswith("Filesystem      1K-blocks    Used Available Use% Mounted on\n")
    assert (
        sh(
            dev,
            "settings put global stay_on_while_plugged_in 7; settings get global stay_on_while_plugged_in",
        )[1]
        == "7\n"
    )
    sh(dev, "input keyevent KEYCODE_SLEEP")
    assert not dev.screen_on


def test_dumpsys_battery_format(dev: VirtualDevice) -> None:
    rc, out, _ = sh(dev, "dumpsys battery")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0] == "Current Battery Service state:"
    assert "  level: 92" in lines and "  USB powered: true" in lines
    assert "  temperature: 290" in lines  # ambient 29.0 °C, in tenths
    assert parse_dumpsys_battery(out) == (92, True, 29.0)


def test_dumpsys_surfaceflinger_gles(dev: VirtualDevice) -> None:
    out = sh(dev, "dumpsys SurfaceFlinger")[1]
    assert identity.gpu_from_surfaceflinger(out) == "Adreno (TM) 630"
    assert sh(dev, "dumpsys nosuchservice")[2] == "Can't find service: nosuchservice\n"


# ---- thermal ---------------------------------------------------------------------------------


def _zone(dev: VirtualDevice, name: str) -> float:
    zones = dev.profile.thermal.zones
    i = zones.index(name)
    raw = sh(dev, f"cat /sys/class/thermal/thermal_zone{i}/type /sys/class/thermal/thermal_zone{i}/temp")[1]
    type_, temp = raw.splitlines()
    assert type_ == name
    value = parse_zone_temp(temp)
    assert value is not None
    return value


def test_thermal_rises_with_load_and_falls_at_rest(tmp_path: Path) -> None:
    clock = Clock()
    dev = VirtualDevice.from_profile("sdm845", root=tmp_path, clock=clock)
    cpu = "cpu0-gold-usr"
    rest = _zone(dev, cpu)
    assert 28 <= rest <= 31
    batt0 = parse_dumpsys_battery(sh(dev, "dumpsys battery")[1])[2]
    assert sh(dev, "cat /sys/devices/system/cpu/cpu4/cpufreq/scaling_cur_freq")[1] == "825600\n"

    for _ in range(10):  # 10 s of load, 1000 inferences/s
        dev.thermal.add_load(1000)
        clock.t += 1.0
    hot = _zone(dev, cpu)
    assert hot > rest + 5
    assert sh(dev, "cat /sys/devices/system/cpu/cpu4/cpufreq/scaling_cur_freq")[1] == "2803200\n"
    batt_hot = parse_dumpsys_battery(sh(dev, "dumpsys battery")[1])[2]
    assert batt0 is not None and batt_hot is not None
    assert batt0 < batt_hot < hot  # the battery lags the die

    clock.t += 10 * dev.profile.thermal.tau_heat_s
    cooled = _zone(dev, cpu)
    assert cooled < hot - 5 and cooled < rest + 1
    assert sh(dev, "cat /sys/devices/system/cpu/cpu4/cpufreq/scaling_cur_freq")[1] == "825600\n"


def test_thermal_saturates_and_throttles(tmp_path: Path) -> None:
    clock = Clock()
    dev = VirtualDevice.from_profile("msm8937", root=tmp_path, clock=clock)
    dev.thermal.add_load(10_000_000)
    assert dev.thermal.die_c() == pytest.approx(
        dev.profile.thermal.ambient_c + dev.profile.thermal.max_rise_c
    )
    assert dev.thermal.throttled()
    freqs = dev.cur_freqs()
    assert max(freqs) < max(dev.profile.core_max_freqs())


def test_thermal_faults_override_profile(tmp_path: Path) -> None:
    clock = Clock()
    dev = VirtualDevice.from_profile("sdm845", root=tmp_path, clock=clock, faults=Faults(ambient_c=40.0))
    assert dev.thermal.die_c() == pytest.approx(40.0)
    dev.faults = Faults(heat_per_inference_mc=1000.0)
    dev.thermal.add_load(3)
    assert dev.thermal.die_c() == pytest.approx(dev.profile.thermal.ambient_c + 3.0)
