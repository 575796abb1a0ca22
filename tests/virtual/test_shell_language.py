"""The virtual phone's sh: control flow, arithmetic, here-documents, traps, the process
table, device files, logcat and the toybox commands scripts use. Calls VirtualDevice.shell
directly (no adb); test_adb_services.py covers the same through the real adb client."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from device_agent.virtual.device import VirtualDevice
from device_agent.virtual.sh.stdin import Stdin


def sh(device: VirtualDevice, command: str, stdin: bytes = b"") -> tuple[int, str, str]:
    out: list[bytes] = []
    err: list[bytes] = []

    async def w_out(b: bytes) -> None:
        out.append(b)

    async def w_err(b: bytes) -> None:
        err.append(b)

    rc = asyncio.run(device.shell(command, w_out, w_err, stdin=Stdin(stdin)))
    return rc, b"".join(out).decode(errors="replace"), b"".join(err).decode(errors="replace")


@pytest.fixture
def dev(tmp_path: Path) -> VirtualDevice:
    return VirtualDevice.from_profile("gs201", root=tmp_path / "phone")


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("if [ 1 -eq 2 ]; then echo a; elif true; then echo b; else echo c; fi", "b\n"),
        ("for i in 1 2 3; do echo $i; done", "1\n2\n3\n"),
        ("i=0; while [ $i -lt 3 ]; do i=$((i+1)); done; echo $i", "3\n"),
        ("i=0; until [ $i -ge 2 ]; do i=$((i+1)); done; echo $i", "2\n"),
        ("for i in 1 2 3 4; do [ $i = 2 ] && continue; [ $i = 4 ] && break; echo $i; done", "1\n3\n"),
        ("case foo.txt in *.png) echo png;; *.txt|*.md) echo text;; esac", "text\n"),
        ('f() { echo "$# $1"; return 4; }; f a b; echo $?', "2 a\n4\n"),
        ("function g { local x=1; echo $x; }; g", "1\n"),
        ("echo $((7 / 2)) $((2 ** 8)) $((10 % 3)) $((1 < 2 ? 5 : 6))", "3 256 1 5\n"),
        ("x=4; echo $((x * x)); let x+=1; echo $x", "16\n5\n"),
        ("(cd /data; pwd); pwd", "/data\n/\n"),
        ("{ echo a; echo b; } | wc -l", "2\n"),
        ('cat <<EOF\nv=$((1+1)) "q"\nEOF', 'v=2 "q"\n'),
        ("cat <<'EOF'\n$HOME\nEOF", "$HOME\n"),
        ('read a b <<EOF\nx y z\nEOF\necho "$a|$b"', "x|y z\n"),
        ("trap 'echo bye' EXIT; echo hi", "hi\nbye\n"),
        ("set -- p q r; shift; echo $1 $#", "q 2\n"),
    ],
)
def test_control_flow_and_expansions_behave_as_mksh(dev: VirtualDevice, script: str, expected: str) -> None:
    _rc, out, err = sh(dev, script)
    assert (out, err) == (expected, "")


def test_a_syntax_error_in_a_compound_command_is_reported_not_raised(dev: VirtualDevice) -> None:
    rc, out, err = sh(dev, "if true; then echo x")
    assert rc != 0 and out == "" and "syntax error" in err


def test_division_by_zero_reports_and_skips_the_command(dev: VirtualDevice) -> None:
    assert sh(dev, "echo $((1/0)); echo after") == (0, "after\n", "/system/bin/sh: 1/0: zero divisor\n")


def test_stdin_reaches_commands_and_read(dev: VirtualDevice) -> None:
    assert sh(dev, "cat", b"abc\n") == (0, "abc\n", "")
    assert sh(dev, "read x; echo got $x", b"hello\n") == (0, "got hello\n", "")
    assert sh(dev, "while read l; do echo [$l]; done", b"a\nb\n") == (0, "[a]\n[b]\n", "")
    assert sh(dev, "[ -t 0 ]")[0] == 1


def test_dollar_dollar_is_a_live_process_other_than_ps(dev: VirtualDevice) -> None:
    _rc, out, _ = sh(dev, "echo $$; ps -A")
    pid, *table = out.splitlines()
    rows = {int(line.split()[1]): line.split()[-1] for line in table[1:]}
    assert rows[int(pid)] == "sh"
    ps_pids = [p for p, name in rows.items() if name == "ps"]
    assert ps_pids and int(pid) not in ps_pids
    assert sh(dev, f"ps {pid}")[0] == 1  # that shell is gone now


def test_kill_stops_a_background_command_and_pidof_finds_it(dev: VirtualDevice) -> None:
    _rc, out, _err = sh(dev, "sleep 30 & p=$!; pidof sleep; kill $p; wait; echo $?; pidof sleep || echo none")
    lines = out.splitlines()
    assert lines[0].isdecimal() and lines[1] == "143" and lines[2] == "none"


def test_trap_runs_on_a_signal_sent_to_the_shell(dev: VirtualDevice) -> None:
    rc, out, _ = sh(dev, 'trap "echo caught; exit 3" TERM; kill $$; echo not here')
    assert (rc, out) == (3, "caught\n")


class _HostStream:
    """The service's side of an ADB stream whose host hangs up (CLSE) at a chosen moment:
    what transport.AdbStream.shutdown does, end of input and the service task cancelled."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.out = bytearray()
        self.closed = False
        self.task: asyncio.Task[None] | None = None

    async def read(self) -> bytes | None:
        return await self.inbox.get()

    async def readexactly(self, n: int) -> bytes:
        chunk = await self.inbox.get()
        if chunk is None:
            self.inbox.put_nowait(None)
            raise EOFError
        assert len(chunk) == n
        return chunk

    async def write(self, data: bytes) -> None:
        if self.closed:
            raise ConnectionError("stream closed by the host")
        self.out += data

    def hang_up(self) -> None:
        self.closed = True
        self.inbox.put_nowait(None)
        if self.task is not None:
            self.task.cancel()


@pytest.mark.parametrize("turns", [1, 2, 3, 5, 8, 13])
def test_the_host_hanging_up_is_a_sighup_wherever_the_shell_is(dev: VirtualDevice, turns: int) -> None:
    # AOSP test_sighup: `adb shell` (shell protocol, no pty) is interrupted while the script
    # waits in `read`; adbd then sends SIGHUP and the trap must run. The hang-up comes after
    # `turns` turns of the event loop, so before, during and after `echo Waiting` and `read`.
    from device_agent.virtual import services

    log = "/data/local/tmp/adb_signal_test.log"
    script = (
        f'trap "echo SIGINT > {log}; exit 0" SIGINT;trap "echo SIGHUP > {log}; exit 0" SIGHUP;'
        "echo Waiting;read"
    )

    async def main() -> bytes:
        stream = _HostStream()

        async def serve() -> None:
            with contextlib.suppress(ConnectionError):  # the exit status has nowhere to go
                await services.shell_v2_service(dev, script, stream, pty=False)

        stream.task = asyncio.create_task(serve())
        for _ in range(turns):
            await asyncio.sleep(0)
        stream.hang_up()
        await asyncio.wait_for(asyncio.wait({stream.task}), 10)
        return bytes(stream.out)

    assert sh(dev, f"echo > {log}")[0] == 0
    out = asyncio.run(main())
    assert out == services.shell_packet(services.SHELL_STDOUT, b"Waiting\n")
    assert sh(dev, f"cat {log}")[1] == "SIGHUP\n"
    assert [p.args for p in dev.procs.all() if p.task is not None] == []  # the shell is gone


def test_device_files_and_proc(dev: VirtualDevice) -> None:
    _rc, out, _ = sh(dev, "dd if=/dev/zero bs=1k count=3 2>/dev/null | wc -c")
    assert out.strip() == "3072"
    _rc, out, _ = sh(
        dev, "dd if=/dev/urandom of=/data/local/tmp/r bs=1000 count=2 status=none; wc -c < /data/local/tmp/r"
    )
    assert out.strip() == "2000"
    _rc, out, _ = sh(dev, "head -1 /proc/stat; cat /proc/$$/comm; cat /proc/1/cmdline")
    first, comm, init = out.splitlines()
    assert first.startswith("cpu ") and comm == "sh" and init.startswith("init")
    assert sh(dev, "echo x > /dev/null; cat /dev/null") == (0, "", "")


def test_logcat_prints_clears_and_filters(dev: VirtualDevice) -> None:
    dev.logs.add("E", "tflite", "Failed to apply GPU delegate.", pid=4242)
    dev.logs.add("I", "other", "noise", pid=1)
    rc, out, err = sh(dev, "logcat -d -s tflite")
    assert rc == 0 and err == ""
    assert out.count("\n") == 1 and " 4242  4242 E tflite  : Failed to apply GPU delegate." in out
    assert "noise" in sh(dev, "logcat -d -v brief")[1]
    sh(dev, "logcat -c")
    assert sh(dev, "logcat -d") == (0, "", "")


def test_setprop_allows_debug_and_persist_only(dev: VirtualDevice) -> None:
    assert sh(dev, "setprop debug.x 7; setprop persist.y 8; getprop debug.x; getprop persist.y") == (
        0,
        "7\n8\n",
        "",
    )
    rc, _, err = sh(dev, "setprop ro.product.model hacked")
    assert rc == 1 and "Failed to set property" in err
    assert sh(dev, "getprop ro.product.model")[1] != "hacked\n"


def test_file_modes_are_enforced_for_the_shell_user(dev: VirtualDevice) -> None:
    rc, out, err = sh(dev, "echo s > /data/local/tmp/f; chmod 000 /data/local/tmp/f; cat /data/local/tmp/f")
    assert rc == 1 and out == "" and "Permission denied" in err
    rc, _, err = sh(dev, "cat /system/build.prop")
    assert rc == 1 and "Permission denied" in err


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("printf '%s-%03d %x\\n' a 7 255", "a-007 ff\n"),
        ("echo Hello | tr a-z A-Z", "HELLO\n"),
        ("printf 'b\\na\\nb\\n' | sort -u", "a\nb\n"),
        ("seq 3 | sort -rn | xargs echo", "3 2 1\n"),
        ("echo a.b.c | sed 's/\\./-/g'", "a-b-c\n"),
        ("printf '1 2\\n3 4\\n' | awk '{print $2}'", "2\n4\n"),
        ("echo hi | base64 | base64 -d", "hi\n"),
        ("printf 'a:b:c\\n' | cut -d: -f2", "b\n"),
        ("env FOO=1 env | grep ^FOO", "FOO=1\n"),
        ("basename /a/b.txt .txt; dirname /a/b.txt", "b\n/a\n"),
    ],
)
def test_text_commands(dev: VirtualDevice, script: str, expected: str) -> None:
    assert sh(dev, script) == (0, expected, "")


def test_file_commands(dev: VirtualDevice) -> None:
    script = (
        "cd /data/local/tmp && echo x > a && cp a b && mv b c && ln -s a l && mkdir -p d/e && "
        "cat l c && find . -name 'a*' && find . -type d | sort && du -s d | cut -f2"
    )
    assert sh(dev, script) == (0, "x\nx\n./a\n.\n./d\n./d/e\nd\n", "")
    rc, _, err = sh(dev, "chown root /data/local/tmp/a")
    assert rc == 1 and "Operation not permitted" in err
    rc, _, err = sh(dev, "cp /data/local/tmp/a /system/bin/a")
    assert rc == 1 and "Read-only file system" in err


@pytest.mark.parametrize(
    ("script", "out", "err"),
    [
        ("echo a > f; mkdir e; cp f nope f2 e; echo $?; ls e", "1\nf\n",
         "cp: nope: No such file or directory\ncp: f2: No such file or directory\n"),
        ("mkdir m; echo a > g; mv nope g m; echo $?; ls m", "1\ng\n", "mv: nope: No such file or directory\n"),
        ("echo a > h; ln -s h l; ln -s h l; echo $?", "1\n", "ln: l: File exists\n"),
        ("mkdir rd; rm -f nope; echo $?; rm nope rd; echo $?", "0\n1\n",
         "rm: nope: No such file or directory\nrm: rd: Is a directory\n"),
        ("mkdir x x /system/y; echo $?", "1\n", "mkdir: x: File exists\nmkdir: /system/y: Read-only file system\n"),
        ("echo a > c; chmod 600 nope c; echo $?; stat -c %a c", "1\n600\n", "chmod: nope: No such file or directory\n"),
        ("echo a > c; chmod zz c nope; echo $?", "1\n", "chmod: bad mode 'zz'\n"),
        ("touch t /system/t; echo $?; ls t", "1\nt\n", "touch: /system/t: Read-only file system\n"),
        ("echo a > s; stat -c %s s nope s; echo $?", "2\n2\n1\n", "stat: 'nope': No such file or directory\n"),
        ("mkdir d; echo a > d/q; ls d nope; echo $?", "q\n1\n", "ls: nope: No such file or directory\n"),
        ("mkdir d; du -s d nope; echo $?", "4\td\n1\n", "du: nope: No such file or directory\n"),
        ("echo a > o; chown shell nope o; echo $?", "1\n", "chown: nope: No such file or directory\n"),
        ("echo hi | tee /system/t t; echo $?; cat t", "hi\n1\nhi\n", "tee: /system/t: Read-only file system\n"),
    ],
)  # fmt: skip
def test_file_commands_report_each_failing_path_and_go_on_with_the_rest(
    dev: VirtualDevice, script: str, out: str, err: str
) -> None:
    assert sh(dev, "cd /data/local/tmp; " + script) == (0, out, err)


def test_phone_stubs_answer_like_a_phone(dev: VirtualDevice) -> None:
    assert sh(dev, "wm size")[1] == "Physical size: 1080x2340\n"
    assert "package:android\n" in sh(dev, "pm list packages")[1]
    assert int(sh(dev, "screencap -p | wc -c")[1]) > 100
    assert sh(dev, "am start -n a/.B")[0] == 1


def test_the_benchmark_tool_is_a_process_and_logs_to_logcat(dev: VirtualDevice) -> None:
    from device_agent.virtual.benchmark_tool import stub_binary

    host = dev.resolve("/data/local/tmp/benchmark_model", write=True)
    host.write_bytes(stub_binary())
    host.chmod(0o755)
    rc, out, _err = sh(dev, "/data/local/tmp/benchmark_model --help >/dev/null 2>&1; logcat -d -s tflite")
    assert rc == 0
    assert out and all(" tflite  : " in line for line in out.splitlines())


def test_a_read_only_file_cannot_be_overwritten_by_the_shell_user(dev: VirtualDevice) -> None:
    rc, _, err = sh(
        dev, "echo a > /data/local/tmp/ro; chmod 444 /data/local/tmp/ro; echo b > /data/local/tmp/ro"
    )
    assert rc != 0 and "Permission denied" in err
    assert sh(dev, "cat /data/local/tmp/ro") == (0, "a\n", "")
