"""A phone that prints hundreds of megabytes costs the worker a bounded buffer: the shell
reader keeps a head and a tail while it reads (real adb server, virtual phone)."""

from __future__ import annotations

import resource

import pytest

from device_agent.phone import shell
from tests.stack import AdbServer

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("v2", [True, False], ids=["shell-v2", "legacy-shell"])
def test_a_flood_of_phone_output_is_read_into_a_head_and_a_tail(
    adb_server: AdbServer, fleet, v2: bool
) -> None:
    phone = fleet.add("sdm845")
    adb_server.connect(phone.address)
    device = adb_server.client.device(phone.address)
    device.sync.push(b"line of output\n" * (2 << 16), "/data/local/tmp/chunk.txt")  # ~2 MB
    device.get_features()
    if not v2:
        device._features = {"cmd"}  # what an old phone without shell_v2 announces
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = shell.run(device, "cat " + " ".join(["/data/local/tmp/chunk.txt"] * 30), timeout=120)  # ~60 MB
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert result.exit_code == 0
    assert "omitted by the farm" in result.output
    assert len(result.output) < 2 * shell.KEEP_BYTES + 200
    assert result.output.startswith("line of output") and result.output.endswith("line of output\n")
    assert grown_mb < 40, f"the reader grew the process by {grown_mb:.0f} MB"
