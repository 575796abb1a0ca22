"""Plug-in to `online` in the API (issue 4). Prints figures; asserts nothing.

1. One phone at a time, 20 times: start a virtual phone, `adb connect` it, time until
   GET /api/v1/devices shows it online (median, p90).
2. 50 phones attached at once: time until all are online.

Usage: python bench/agent_attach.py [--mode production|embedded] [--many 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from device_agent.virtual.fleet import PhoneFleet, available_profiles
from tests.stack import AdbServer, FarmStack, wait_for


def online(stack: FarmStack) -> set[str]:
    return {d["address"] for d in stack.devices() if d["state"] == "online"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="production", choices=["production", "embedded"])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--many", type=int, default=50)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-attach-"))
    stack = FarmStack(tmp, mode=args.mode)
    adb = AdbServer(tmp / "adbhome")
    adb.start()
    fleet = PhoneFleet()
    profiles = available_profiles()
    try:
        stack.start_api()
        stack.start_agent(adb)
        time.sleep(2)
        times = []
        for i in range(args.repeat):
            phone = fleet.add(profiles[i % len(profiles)])
            t0 = time.monotonic()
            adb.connect(phone.address)
            address = phone.address
            wait_for(lambda: address in online(stack), 30, 0.02, "online")  # noqa: B023
            times.append(time.monotonic() - t0)
            phone.stop()
            wait_for(lambda: address not in online(stack), 30, 0.05, "offline")  # noqa: B023
        times.sort()
        print(
            f"[{args.mode}] plug-in to online: median {statistics.median(times) * 1000:.0f} ms, "
            f"p90 {times[int(0.9 * (len(times) - 1))] * 1000:.0f} ms over {len(times)} attaches"
        )
        phones = [fleet.add(profiles[i % len(profiles)]) for i in range(args.many)]
        t0 = time.monotonic()
        for p in phones:
            adb.client.connect(p.address, timeout=10)
        wanted = {p.address for p in phones}
        wait_for(lambda: wanted <= online(stack), 300, 0.2, f"{args.many} phones online")
        print(
            f"[{args.mode}] {args.many} phones attached at once: all online after {time.monotonic() - t0:.2f} s"
        )
    finally:
        fleet.close()
        adb.stop()
        stack.close()


if __name__ == "__main__":
    main()
