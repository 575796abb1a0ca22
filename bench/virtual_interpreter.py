"""What running the interpreter in a child process costs, and what it saves (hardening issue).

1. Per-invocation wall time of the virtual `benchmark_model` (tiny model, 5 runs, 1 warm-up)
   through the phone's shell: the first run on a phone (its interpreter process starts) and
   the median of the next ones (the process is reused).
2. The phone-serving process's RSS (/proc/self/status) before and after a 320-byte model
   with [1,4000,4000,3] tensors on a 1 GB phone (msm8917).

Usage: python bench/virtual_interpreter.py [--runs 30]. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from device_agent.virtual.benchmark_tool import stub_binary
from device_agent.virtual.device import VirtualDevice
from tests.hostile.crafted import crafted
from tests.tflite_builder import build_tiny_model

DIR = "/data/local/tmp/phonefarm"
FAST = "--num_runs=5 --min_secs=0 --warmup_runs=1 --warmup_min_secs=0"


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory (VmRSS) or its peak since the last reset (VmHWM), in MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def reset_peak() -> None:
    """Linux resets VmHWM to the current RSS when 5 is written to clear_refs."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def phone(tmp: Path, profile: str) -> VirtualDevice:
    dev = VirtualDevice.from_profile(profile, root=tmp / profile)
    d = dev.root / DIR.lstrip("/")
    d.mkdir(parents=True)
    (d / "benchmark_model").write_bytes(stub_binary())
    (d / "benchmark_model").chmod(0o755)
    (d / "tiny.tflite").write_bytes(build_tiny_model())
    (d / "huge.tflite").write_bytes(crafted(dims=[1, 4000, 4000, 3], constant=False))
    return dev


def bench(dev: VirtualDevice, model: str) -> tuple[int, float, str]:
    err: list[bytes] = []

    async def sink(_b: bytes) -> None:
        return None

    async def w_err(b: bytes) -> None:
        err.append(b)

    t0 = time.perf_counter()
    rc = asyncio.run(dev.shell(f"{DIR}/benchmark_model --graph={DIR}/{model} {FAST}", sink, w_err))
    return rc, time.perf_counter() - t0, b"".join(err).decode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-interp-"))
    dev = phone(tmp, "sdm845")
    rc, first, _ = bench(dev, "tiny.tflite")
    walls = [bench(dev, "tiny.tflite")[1] for _ in range(args.runs)]
    print(
        f"tiny model, one benchmark_model invocation: first {first * 1000:.1f} ms (rc {rc}), "
        f"then median {statistics.median(walls) * 1000:.1f} ms over {args.runs}"
    )
    small = phone(tmp, "msm8917")
    bench(small, "tiny.tflite")
    reset_peak()
    before = rss_mb()
    rc, wall, text = bench(small, "huge.tflite")
    after, peak = rss_mb(), rss_mb("VmHWM")
    tail = text.strip().splitlines()[-1] if text.strip() else ""
    print(
        f"huge model on msm8917: rc {rc} in {wall:.2f} s, last line {tail!r}; serving process RSS "
        f"{before:.0f} MB before, {after:.0f} MB after, peak during the run {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
