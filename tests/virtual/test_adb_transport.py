"""The virtual phone as the real adb server sees it.

Every check goes through the stock adb server (adbutils' bundled binary) via adbutils or the
`adb` command line, never through the phone's own classes; the only exception is a raw TCP
socket used to send garbage, which no adb client can do.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import socket
import struct
import subprocess
import time
from pathlib import Path

import adbutils
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.stack import AdbServer
from tests.virtual.conftest import PhoneFactory

pytestmark = pytest.mark.timeout(60)

TMP = "/data/local/tmp"


def sh(adb: AdbServer, address: str, *args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return adb.cmd("-s", address, "shell", *args, timeout=timeout)


# -- handshake ---------------------------------------------------------------------------------


def test_phone_is_listed_as_device_with_its_banner(adb: AdbServer, phone) -> None:
    out = adb.cmd("devices", "-l").stdout
    line = next(line for line in out.splitlines() if line.startswith(phone.address))
    assert line.split()[1] == "device"
    banner = phone.device.banner_props()
    assert f"model:{banner['ro.product.model'].replace(' ', '_')}" in line
    assert f"device:{banner['ro.product.device']}" in line
    features = adb.device(phone.address).get_features()
    for feature in ("shell_v2", "stat_v2", "ls_v2", "fixed_push_mkdir", "sendrecv_v2"):
        assert feature in features


def test_getprop_board_platform(adb: AdbServer, make_phone: PhoneFactory) -> None:
    phone = make_phone("sdm845")
    res = sh(adb, phone.address, "getprop", "ro.board.platform")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "sdm845"
    assert adb.device(phone.address).prop.get("ro.board.platform") == "sdm845"


# -- shell -------------------------------------------------------------------------------------


def test_exit_codes_and_streams_through_shell_v2(adb: AdbServer, phone) -> None:
    dev = adb.device(phone.address)
    ret = dev.shell2("exit 3", v2=True)
    assert ret.returncode == 3
    ret = dev.shell2("echo hello", v2=True)
    assert (ret.returncode, ret.output) == (0, "hello\n")
    ret = dev.shell2("nosuchcommand_xyz", v2=True)
    assert ret.returncode == 127
    assert "nosuchcommand_xyz" in str(ret.stderr) and ret.stdout == ""

    res = sh(adb, phone.address, "exit 3")
    assert res.returncode == 3
    res = sh(adb, phone.address, "nosuchcommand_xyz")
    assert res.returncode == 127 and "nosuchcommand_xyz" in res.stderr and res.stdout == ""


def test_legacy_shell_and_pty(adb: AdbServer, phone) -> None:
    dev = adb.device(phone.address)
    assert dev.shell("echo legacy") == "legacy"  # `shell:` service, no v2
    assert adb.cmd("-s", phone.address, "exec-out", "echo raw").stdout == "raw\n"  # `exec:`
    res = adb.cmd("-s", phone.address, "shell", "-tt", "echo tty")  # `shell,v2,pty:`
    assert res.returncode == 0 and "tty" in res.stdout
    # No command: sh reads its commands from stdin (shell protocol STDIN / CLOSE_STDIN packets).
    res = subprocess.run(
        [adb.adb, "-P", str(adb.port), "-s", phone.address, "shell"],
        input="echo one\necho two\nexit 4\n",
        env=adb.env,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert (res.returncode, res.stdout) == (4, "one\ntwo\n")


def test_unknown_service_is_refused(adb: AdbServer, phone) -> None:
    dev = adb.device(phone.address)
    with dev.open_transport() as conn:
        conn.send_command("no-such-service:x")
        with pytest.raises(adbutils.AdbError):
            conn.check_okay()
    assert dev.shell2("echo still-here", v2=True).output == "still-here\n"


def test_many_concurrent_streams(adb: AdbServer, phone) -> None:
    dev = adb.device(phone.address)
    payload = os.urandom(300_000)

    def job(i: int) -> tuple[int, str, bytes]:
        ret = dev.shell2(f"sleep 0.5; echo job{i}; exit {i}", v2=True)
        dev.sync.push(payload, f"{TMP}/c{i}.bin")
        return ret.returncode, str(ret.output), dev.sync.read_bytes(f"{TMP}/c{i}.bin")

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(job, range(16)))
    elapsed = time.monotonic() - t0
    for i, (code, out, back) in enumerate(results):
        assert (code, out) == (i, f"job{i}\n")
        assert back == payload
    # one after another they would take 16 x 0.5 s = 8 s at the very least, however fast the machine
    assert elapsed < 8, f"16 streams of `sleep 0.5` took {elapsed:.1f}s: not concurrent"


# -- sync --------------------------------------------------------------------------------------


def test_20mb_push_pull_roundtrip(adb: AdbServer, phone, tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    data = os.urandom(20 * 1024 * 1024)
    src.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()

    # adb CLI: SND2/RCV2 (sendrecv_v2), STA2.
    res = adb.cmd("-s", phone.address, "push", str(src), f"{TMP}/big.bin", timeout=60)
    assert res.returncode == 0, res.stderr
    back = tmp_path / "back.bin"
    res = adb.cmd("-s", phone.address, "pull", f"{TMP}/big.bin", str(back), timeout=60)
    assert res.returncode == 0, res.stderr
    assert back.read_bytes() == data
    res = sh(adb, phone.address, "sha256sum", f"{TMP}/big.bin")
    assert res.returncode == 0 and res.stdout.split()[0] == digest

    # adbutils: SEND/RECV v1.
    dev = adb.device(phone.address)
    dev.sync.push(src, f"{TMP}/big2.bin")
    back2 = tmp_path / "back2.bin"
    dev.sync.pull(f"{TMP}/big2.bin", back2)
    assert hashlib.sha256(back2.read_bytes()).hexdigest() == digest


def test_push_makes_parent_dirs_and_stat_list(adb: AdbServer, phone, tmp_path: Path) -> None:
    dev = adb.device(phone.address)
    dev.sync.push(b"abc", f"{TMP}/a/b/c.txt", mode=0o600)
    info = dev.sync.stat(f"{TMP}/a/b/c.txt")
    assert info.size == 3
    assert info.mode & 0o170000 == 0o100000  # regular file
    assert info.mode & 0o777 == 0o666  # adbd copies user bits to group and other
    assert info.mtime is not None and abs(info.mtime.timestamp() - time.time()) < 120
    assert dev.sync.stat(f"{TMP}/a").mode & 0o170000 == 0o040000
    assert dev.sync.stat(f"{TMP}/no/such").mode == 0
    names = {f.path for f in dev.sync.list(f"{TMP}/a/b")}
    assert names == {".", "..", "c.txt"}

    # The CLI uses LIS2 / STA2.
    res = adb.cmd("-s", phone.address, "ls", f"{TMP}/a/b")
    assert res.returncode == 0 and res.stdout.split()[-1] == "c.txt"
    res = adb.cmd("-s", phone.address, "pull", f"{TMP}/no/such", str(tmp_path / "x"))
    assert res.returncode != 0 and "No such file" in res.stderr
    # Pushing into a directory uses the file's name (STAT says directory).
    local = tmp_path / "named.txt"
    local.write_bytes(b"xyz")
    res = adb.cmd("-s", phone.address, "push", str(local), f"{TMP}/a/")
    assert res.returncode == 0, res.stderr
    assert dev.sync.read_bytes(f"{TMP}/a/named.txt") == b"xyz"


# -- robustness --------------------------------------------------------------------------------


def _cnxn() -> bytes:
    cmd = int.from_bytes(b"CNXN", "little")
    data = b"host::features=shell_v2\0"
    return struct.pack("<6I", cmd, 0x01000001, 1 << 20, len(data), 0, cmd ^ 0xFFFFFFFF) + data


def _recv_all(s: socket.socket, timeout: float) -> bytes:
    s.settimeout(timeout)
    out = b""
    try:
        while chunk := s.recv(65536):
            out += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return out


def test_garbage_closes_only_that_connection(adb: AdbServer, phone) -> None:
    host, port = phone.address.split(":")
    with (
        socket.create_connection((host, int(port)), timeout=5) as bad,
        socket.create_connection((host, int(port)), timeout=5) as good,
    ):
        bad.sendall(os.urandom(4096))
        bad.settimeout(5)
        try:
            closed = bad.recv(1) == b""
        except ConnectionResetError:
            closed = True
        assert closed, "the phone kept a connection that sent garbage"

        # A well-formed handshake on another connection still gets the phone's CNXN.
        good.sendall(_cnxn())
        good.settimeout(5)
        header = good.recv(24)
        assert header[:4] == b"CNXN"
    # And the adb server's own connection was never disturbed.
    assert adb.state(phone.address) == "device"
    assert adb.device(phone.address).shell2("echo alive", v2=True).output == "alive\n"


def test_unplug_and_plug_back(adb: AdbServer, phone) -> None:
    dev = adb.device(phone.address)
    assert dev.shell2("echo 1", v2=True).output == "1\n"
    port = phone.port
    phone.stop()
    adb.wait_state(phone.address, {"offline", "absent"})
    with pytest.raises((adbutils.AdbError, ConnectionError, OSError)):
        adb.device(phone.address).shell2("echo 2", v2=True, timeout=3)
    phone.start()
    assert phone.port == port
    adb.disconnect(phone.address)
    adb.connect(phone.address)
    assert adb.device(phone.address).shell2("echo 3", v2=True).output == "3\n"


# -- auth --------------------------------------------------------------------------------------


def _other_adb_pubkey(tmp_path: Path) -> bytes:
    """A key in adbkey.pub format that is not the adb server's, written by adb itself."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "other").write_bytes(pem)
    # `adb pubkey FILE` prints the adb public key of a private key file.
    res = AdbServer(tmp_path).cmd("pubkey", str(tmp_path / "other"))
    assert res.returncode == 0, res.stderr
    return res.stdout.encode()


def test_auth_with_unknown_host_key_is_unauthorized(
    adb: AdbServer, make_phone: PhoneFactory, tmp_path: Path
) -> None:
    phone = make_phone(connect=False, auth=True, allowed_keys=(_other_adb_pubkey(tmp_path),))
    adb.client.connect(phone.address, timeout=10)
    adb.wait_state(phone.address, {"unauthorized"})
    time.sleep(0.5)  # and it stays so
    assert adb.state(phone.address) == "unauthorized"
    res = sh(adb, phone.address, "echo", "no")
    assert res.returncode != 0 and "unauthorized" in (res.stderr + res.stdout)


def test_auth_with_host_key_allowed_is_device(
    adb: AdbServer, make_phone: PhoneFactory, tmp_path: Path
) -> None:
    phone = make_phone(connect=False, auth=True, allowed_keys=(_other_adb_pubkey(tmp_path), adb.pubkey))
    adb.connect(phone.address)
    assert adb.device(phone.address).shell2("echo authorised", v2=True).output == "authorised\n"


# -- faults ------------------------------------------------------------------------------------


def test_fault_disconnect_after_bytes(adb: AdbServer, phone) -> None:
    dev = adb.device(phone.address)
    dev.sync.push(os.urandom(100_000), f"{TMP}/small.bin")  # under the budget: fine
    phone.device.faults.disconnect_after_bytes = 1_000_000
    with adb.watch(phone.address) as watch:
        with pytest.raises((adbutils.AdbError, ConnectionError, OSError)):
            dev.sync.push(os.urandom(4_000_000), f"{TMP}/big.bin")
        # adb saw the link go (and, the phone still listening, reconnects it ~250 ms later by itself)
        watch.wait({"offline", "absent"})

    phone.device.faults.disconnect_after_bytes = None
    adb.disconnect(phone.address)
    adb.connect(phone.address)
    payload = os.urandom(4_000_000)
    adb.device(phone.address).sync.push(payload, f"{TMP}/big.bin")
    assert adb.device(phone.address).sync.read_bytes(f"{TMP}/big.bin") == payload


def test_fault_bandwidth_throttles_both_directions(adb: AdbServer, phone) -> None:
    dev = adb.device(phone.address)
    payload = os.urandom(1_500_000)
    t0 = time.monotonic()
    dev.sync.push(payload, f"{TMP}/bw.bin")
    fast = time.monotonic() - t0

    phone.device.faults.bandwidth_bytes_per_s = 3_000_000
    t0 = time.monotonic()
    dev.sync.push(payload, f"{TMP}/bw.bin")
    up = time.monotonic() - t0
    t0 = time.monotonic()
    assert dev.sync.read_bytes(f"{TMP}/bw.bin") == payload
    down = time.monotonic() - t0
    phone.device.faults.bandwidth_bytes_per_s = None

    # 1.5 MB at 3 MB/s takes 0.5 s at least, whatever the load; the upper bounds only say "not stuck"
    assert up > 0.4 and down > 0.4, (up, down)
    assert up < 30 and down < 30 and fast < 30, (fast, up, down)


def test_fault_hang_then_recover(adb: AdbServer, phone) -> None:
    dev = adb.device(phone.address)
    phone.device.faults.hang = True
    try:
        with pytest.raises((adbutils.AdbTimeout, adbutils.AdbError, OSError)):
            dev.shell2("echo hung", v2=True, timeout=1)
    finally:
        phone.device.faults.hang = False
    assert adb.state(phone.address) == "device"
    assert dev.shell2("echo back", v2=True, timeout=10).output == "back\n"


def test_device_side_disconnect_hook_drops_the_connection(adb: AdbServer, phone) -> None:
    """The device calls on_disconnect (disconnect_during_benchmark); the cable 'glitches'."""
    assert phone.device.on_disconnect is not None
    with adb.watch(phone.address) as watch:
        phone.device.on_disconnect()
        watch.wait({"offline", "absent"})
    adb.disconnect(phone.address)
    adb.connect(phone.address)  # still listening: it comes straight back
    assert adb.device(phone.address).shell2("echo again", v2=True).output == "again\n"


def test_connect_does_not_trust_already_connected_for_a_transport_adb_is_removing(
    adb: AdbServer, make_phone: PhoneFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """adb answers `adb connect` with "already connected to ADDR" when the transport that a
    just-run `adb disconnect` kicked is still in its list; a moment later it is removed and adb
    lists nothing for ADDR. (Seen in CI; reproduced by starving adb's ReconnectHandler thread.)
    This replays that reply: the helper must connect again rather than wait for a device forever."""
    phone = make_phone(connect=False)
    real_connect = adbutils.AdbClient.connect
    stale = [f"already connected to {phone.address}"]

    def connect(self: adbutils.AdbClient, addr: str, timeout: float | None = None) -> str:
        return stale.pop() if stale else str(real_connect(self, addr, timeout=timeout))

    monkeypatch.setattr(adbutils.AdbClient, "connect", connect)
    assert adb.state(phone.address) == "absent"
    adb.connect(phone.address)
    assert not stale, "the stale reply was never given"
    assert adb.device(phone.address).shell2("echo up", v2=True).output == "up\n"

    adb.disconnect(phone.address)  # returns once adb has really dropped it, not just kicked it
    assert adb.state(phone.address) == "absent"


def test_a_failed_wait_explains_itself(adb: AdbServer, make_phone: PhoneFactory) -> None:
    phone = make_phone()
    with pytest.raises(TimeoutError) as info:
        adb.wait_state(phone.address, {"unauthorized"}, timeout=0.5)
    text = str(info.value)
    assert "states seen: ['device']" in text
    assert f"{phone.address}" in text.split("adb devices -l:")[1]  # adb's own listing
    assert "1 connection(s) open" in text
