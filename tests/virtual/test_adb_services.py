"""What Android's own device tests found missing, checked through the stock adb client:
stdin to shell/exec commands, interactive exit codes, logcat, sync compression and dry run,
pushed symlinks, read permissions, adb reverse and forwarding into the phone."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.stack import AdbServer, wait_for
from tests.virtual.conftest import PhoneFactory

pytestmark = pytest.mark.timeout(90)

TMP = "/data/local/tmp"


def adb_run(adb: AdbServer, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None):
    return subprocess.run(
        [adb.adb, "-P", str(adb.port), *args],
        input=stdin,
        capture_output=True,
        env={**adb.env, **(env or {})},
        timeout=30,
    )


def exec_in_landed(adb: AdbServer, address: str, path: str, size: int) -> bytes:
    """The file an `adb exec-in` wrote, once it has all `size` bytes.

    Why wait: `adb exec-in` exits as soon as the client has handed stdin to the local adb
    server (AOSP commandline.cpp: copy_to_file, then return 0); the server forwards the rest
    later and nothing reports when the phone's command has written it, on a real phone too.
    """
    wait_for(
        lambda: (
            adb_run(adb, "-s", address, "shell", f"stat -c %s {path}").stdout.strip() == str(size).encode()
        ),
        timeout=20,
        what=f"{size} bytes in {path}",
    )
    return bytes(adb_run(adb, "-s", address, "exec-out", f"cat {path}").stdout)


def test_stdin_reaches_shell_and_exec_commands(adb: AdbServer, make_phone: PhoneFactory) -> None:
    a = make_phone("gs201").address
    r = adb_run(adb, "-s", a, "shell", "cat", stdin=b"foo\nbar\n")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"foo\nbar\n", b"")
    data = os.urandom(200_000)
    r = adb_run(adb, "-s", a, "exec-in", f"cat > {TMP}/in.bin", stdin=data)
    assert r.returncode == 0
    assert exec_in_landed(adb, a, f"{TMP}/in.bin", len(data)) == data
    r = adb_run(adb, "-s", a, "shell", f"cat > {TMP}/s.txt; wc -c < {TMP}/s.txt", stdin=b"12345")
    assert r.stdout.strip() == b"5"


def test_shell_exits_only_after_its_stdin_is_written_even_on_a_slow_link(
    adb: AdbServer, make_phone: PhoneFactory, tmp_path: Path
) -> None:
    # A slow link makes the phone receive stdin long after the host has sent it all: the
    # shell protocol's exit packet must still come after the last byte is in the file.
    phone = make_phone("gs201")
    a = phone.address
    phone.device.faults.bandwidth_bytes_per_s = 1_000_000
    data = os.urandom(300_000)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    with src.open("rb") as fh:  # adb shell 'cat > f' < file
        r = subprocess.run(
            [adb.adb, "-P", str(adb.port), "-s", a, "shell", f"cat > {TMP}/slow.bin"],
            stdin=fh,
            capture_output=True,
            env=adb.env,
            timeout=30,
        )
    assert (r.returncode, r.stderr) == (0, b"")
    assert adb_run(adb, "-s", a, "shell", f"stat -c %s {TMP}/slow.bin").stdout.strip() == b"300000"
    r = adb_run(adb, "-s", a, "shell", "cat", stdin=b"x")  # printf x | adb shell cat
    assert (r.returncode, r.stdout) == (0, b"x")
    # exec-in has no exit report: its command finishes writing after the host has closed.
    r = adb_run(adb, "-s", a, "exec-in", f"cat > {TMP}/slow-in.bin", stdin=data)
    assert r.returncode == 0
    assert exec_in_landed(adb, a, f"{TMP}/slow-in.bin", len(data)) == data
    assert adb_run(adb, "-s", a, "exec-out", f"cat {TMP}/slow.bin").stdout == data
    phone.device.faults.bandwidth_bytes_per_s = None


def test_interactive_shell_exits_with_the_first_exit_code(adb: AdbServer, phone) -> None:
    r = adb_run(adb, "-s", phone.address, "shell", stdin=b"x=17; exit $x; exit\n")
    assert r.returncode == 17


def test_unknown_commands_exit_127_and_logcat_works(adb: AdbServer, phone) -> None:
    r = adb_run(adb, "-s", phone.address, "shell", "no_such_tool")
    assert r.returncode == 127 and b"inaccessible or not found" in r.stderr
    r = adb_run(adb, "-s", phone.address, "logcat", "-d")
    assert r.returncode == 0 and b"inaccessible" not in r.stdout and b"ActivityManager" in r.stdout
    assert adb_run(adb, "-s", phone.address, "logcat", "-c").returncode == 0
    assert adb_run(adb, "-s", phone.address, "logcat", "-d").stdout == b""


def shell_popen(adb: AdbServer, phone, script: str) -> subprocess.Popen[bytes]:
    """`adb shell SCRIPT` left running, its stdout a pipe (stdin too: it waits as from a terminal)."""
    return subprocess.Popen(
        [adb.adb, "-P", str(adb.port), "-s", phone.address, "shell", script],
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
        env=adb.env,
    )


def test_ps_shows_the_shell_and_pidof_finds_a_running_command(adb: AdbServer, phone) -> None:
    proc = shell_popen(adb, phone, "echo $$; sleep 30")
    try:
        assert proc.stdout is not None
        pid = proc.stdout.readline().strip().decode()
        assert adb_run(adb, "-s", phone.address, "shell", f"ps {pid}").returncode == 0
        found = adb_run(adb, "-s", phone.address, "shell", "pidof sleep").stdout.split()
        assert len(found) == 1
        assert adb_run(adb, "-s", phone.address, "shell", f"kill {found[0].decode()}").returncode == 0
        assert proc.wait(timeout=10) == 143
    finally:
        proc.kill()
    deadline = time.monotonic() + 5
    while adb_run(adb, "-s", phone.address, "shell", f"ps {pid}").returncode == 0:
        assert time.monotonic() < deadline, "the shell stayed in the process table"
        time.sleep(0.1)


def test_describe_names_what_a_hung_host_command_waits_on(adb: AdbServer, phone) -> None:
    # What the conformance runner reports when a test hangs: the phone's side of it.
    proc = shell_popen(adb, phone, "echo ready; sleep 60")
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        text = wait_for(lambda: (d := phone.describe()) and "'sleep 60'" in d and d, 20, 0.05, "sleep in ps")
        assert "'/system/bin/sh -c echo ready; sleep 60'" in text
        assert "raw:echo ready; sleep 60'" in text  # the stream's service
    finally:
        proc.kill()
        proc.wait()
    wait_for(lambda: "sleep" not in phone.describe(), 20, 0.05, "the hung-up shell gone")


@pytest.mark.parametrize(
    ("profile", "offered"), [("sdm845", {"brotli"}), ("gs201", {"brotli", "lz4", "zstd"})]
)
def test_compression_is_advertised_as_the_android_release_does(
    adb: AdbServer, make_phone: PhoneFactory, profile: str, offered: set[str]
) -> None:
    a = make_phone(profile).address
    features = adb_run(adb, "-s", a, "features").stdout.decode().split()
    assert {f.removeprefix("sendrecv_v2_") for f in features if f.startswith("sendrecv_v2_")} - {
        "dry_run_send"
    } == offered


@pytest.mark.parametrize("codec", ["brotli", "lz4", "zstd", "none"])
def test_push_and_pull_with_each_compression(
    adb: AdbServer, make_phone: PhoneFactory, tmp_path: Path, codec: str
) -> None:
    a = make_phone("gs201").address
    data = os.urandom(300_000) + b"z" * 300_000
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    env = {"ADB_COMPRESSION": codec}
    assert adb_run(adb, "-s", a, "push", str(src), f"{TMP}/c.bin", env=env).returncode == 0
    assert adb_run(adb, "-s", a, "pull", f"{TMP}/c.bin", str(tmp_path / "back.bin"), env=env).returncode == 0
    assert (tmp_path / "back.bin").read_bytes() == data


def test_push_dry_run_writes_nothing(adb: AdbServer, make_phone: PhoneFactory, tmp_path: Path) -> None:
    a = make_phone("gs201").address
    src = tmp_path / "f"
    src.write_bytes(b"x" * 1000)
    assert adb_run(adb, "-s", a, "push", "-n", str(src), f"{TMP}/dry").returncode == 0
    assert adb_run(adb, "-s", a, "shell", f"[ -e {TMP}/dry ]").returncode == 1


def test_a_pushed_directory_keeps_its_symlinks(adb: AdbServer, phone, tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "foo").write_text("foo")
    (d / "link").symlink_to("foo")
    assert adb_run(adb, "-s", phone.address, "push", str(d), f"{TMP}/").returncode == 0
    r = adb_run(adb, "-s", phone.address, "shell", f"cat {TMP}/d/link; ls -l {TMP}/d/link")
    assert r.stdout.startswith(b"foo") and b"-> foo" in r.stdout


def test_pull_of_an_unreadable_file_is_permission_denied(adb: AdbServer, phone, tmp_path: Path) -> None:
    adb_run(adb, "-s", phone.address, "shell", f"echo s > {TMP}/secret; chmod 000 {TMP}/secret")
    r = adb_run(adb, "-s", phone.address, "pull", f"{TMP}/secret", str(tmp_path / "x"))
    assert r.returncode != 0 and b"Permission denied" in r.stderr + r.stdout


def test_forward_reaches_a_server_inside_the_phone_and_reverse_reaches_the_host(
    adb: AdbServer, phone
) -> None:
    a = phone.address
    port = int(adb_run(adb, "-s", a, "forward", "tcp:0", "tcp:7001").stdout)
    server = threading.Thread(
        target=adb_run, args=(adb, "-s", a, "shell", "echo pong | nc -l -p 7001"), daemon=True
    )
    server.start()
    time.sleep(0.5)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"ping")
        assert s.recv(16) == b"pong\n"
    server.join(10)
    adb_run(adb, "-s", a, "forward", "--remove-all")

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    host_port = listener.getsockname()[1]
    with listener:
        assert adb_run(adb, "-s", a, "reverse", "tcp:7002", f"tcp:{host_port}").returncode == 0
        assert f"tcp:7002 tcp:{host_port}" in adb_run(adb, "-s", a, "reverse", "--list").stdout.decode()
        result: dict[str, bytes] = {}
        t = threading.Thread(
            target=lambda: result.update(
                out=adb_run(adb, "-s", a, "shell", "echo hi | nc -w 2 localhost 7002").stdout
            )
        )
        t.start()
        conn, _ = listener.accept()
        with conn:
            assert conn.recv(16) == b"hi\n"
            conn.sendall(b"back\n")
        t.join(10)
        assert result["out"] == b"back\n"
        assert adb_run(adb, "-s", a, "reverse", "--remove-all").returncode == 0
        assert adb_run(adb, "-s", a, "reverse", "--list").stdout.strip() == b""


def test_setprop_debug_through_adb(adb: AdbServer, phone) -> None:
    assert adb_run(adb, "-s", phone.address, "shell", "setprop debug.foo 0.5").returncode == 0
    assert adb_run(adb, "-s", phone.address, "shell", "getprop debug.foo").stdout == b"0.5\n"
