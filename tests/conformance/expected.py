"""Tests of AOSP test_device.py that fail here for reasons a real non-root phone shares, each
with why: they need the host's adb (its version, USB, mDNS, fixed ports) or test APKs, not a
different phone. The runner fails on any other failure.

EXPECTED_FAILURES: run, and allowed to fail. NOT_RUN: never started, because they would reach
outside the private adb server the runner owns.
"""

from __future__ import annotations

_SYNC_SLASH = (
    "host adb 36.0.0 (the adbutils wheel's binary) answers `adb sync /data` with \"don't know how "
    'to sync /data partition" before talking to any phone; newer clients accept the slash'
)

EXPECTED_FAILURES: dict[str, str] = {
    **{
        f"FileOperationsTest{c}.test_sync_slash_data": _SYNC_SLASH
        for c in ("Uncompressed", "Brotli", "LZ4", "Zstd")
    },
    "DetachSingleServer.test_detach_then_attach": (
        'adb detach/attach is for USB devices: the host adb says "attach/detach not supported" for '
        "a phone connected over TCP (adb connect), which every phone here is"
    ),
    "OneDevice.test_one_device": (
        "--one-device takes a USB serial; a TCP phone is never owned by one server, and the test "
        "kills the default server and uses the fixed port 14424"
    ),
    "MdnsTracking.test_track_mdns_proto_binary": (
        'host adb 36.0.0 has no `adb mdns track-services` ("unknown mdns command"): a host feature'
    ),
    "MdnsTracking.test_track_mdns_proto_text": (
        'host adb 36.0.0 has no `adb mdns track-services` ("unknown mdns command"): a host feature'
    ),
    "DevicesListing.test_track_app_appinfo": (
        "needs adb_test_app1.apk/adb_test_app2.apk (built in the AOSP tree, not part of the suite's "
        "file) and upstream references an undefined proto_track_app module"
    ),
    "Debugger.test_denied_debugger_on_frozen_app": (
        "needs the adb.test.app1 APK installed and a JDWP-debuggable app process (upstream: "
        '"TODO: Enable once we have a test runner that allows to debug tests")'
    ),
}

NOT_RUN: dict[str, str] = {
    "ForwardReverseTest.test_forward_old_protocol": (
        "talks to the adb server on the fixed port 5037; on a shared machine that is someone "
        "else's server, not the runner's private one"
    ),
    "SocketTest.test_socket_flush": (
        "talks to the adb server on the fixed port 5037; on a shared machine that is someone "
        "else's server, not the runner's private one"
    ),
}
