"""Service overhead per run, and farm vs by-hand wall time (issue 3). Prints figures; asserts nothing.

1. Overhead: 20 one-run jobs on a cached model; job wall time (created → finished, from the
   database) minus the phone's own benchmark time (the benchmark command's wall time).
2. Ratio: one 4-phone × 2-delegate job against doing the same by hand: sequential
   `adb push` of model and binary, `adb shell chmod`, `adb shell benchmark_model` per phone × delegate.

Usage: python bench/e2e_overhead.py [--mode production|embedded]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from contracts.elf import fake_elf
from contracts.jobs import BenchmarkSpec
from device_agent.phone.benchmark import build_command
from device_agent.virtual.fleet import PhoneFleet
from tests.stack import QUICK, AdbServer, FarmStack

MODEL = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tiny_segmenter.tflite"
PHONES = ["msm8953", "sdm845", "msm8937", "exynos7420"]
# the tests' quick spec, with enough iterations that the benchmark itself is measurable
FAST = {**QUICK, "num_runs": 20, "warmup_runs": 1, "threads": [2]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="production", choices=["production", "embedded"])
    ap.add_argument("--jobs", type=int, default=20)
    ap.add_argument(
        "--min-secs",
        type=float,
        default=1.0,
        help="benchmark duration per run in the ratio part (a real model on a real phone runs seconds)",
    )
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    stack = FarmStack(tmp, mode=args.mode)
    adb = AdbServer(tmp / "adbhome")
    adb.start()
    fleet = PhoneFleet()
    try:
        phones = [fleet.add(p) for p in PHONES]
        for p in phones:
            adb.connect(p.address)
        stack.start_api()
        stack.start_worker(adb)
        stack.start_agent(adb)
        devices = stack.wait_online(len(PHONES))
        model = stack.upload(MODEL)
        first = devices[0]["id"]

        def job(body: dict[str, object]) -> dict[str, object]:
            resp = stack.http.post("/benchmarks", json={"model": str(model["id"]), **FAST, **body})
            resp.raise_for_status()
            return stack.wait_job(resp.json()["id"])

        job({"devices": {"all": True}, "delegates": ["cpu", "gpu"]})  # caches model + binary everywhere
        overheads, pickups = [], []
        for _ in range(args.jobs):
            j = job({"devices": {"ids": [first]}, "delegates": ["cpu"]})
            wall = _seconds(j["finished_at"]) - _seconds(j["created_at"])  # type: ignore[arg-type]
            phone_time = sum(j["runs"][0]["result"]["env"]["trial_wall_s"])  # type: ignore[index]
            overheads.append(wall - phone_time)
            pickups.append(_seconds(j["runs"][0]["started_at"]) - _seconds(j["created_at"]))  # type: ignore[index,arg-type]
        overheads.sort()
        print(
            f"[{args.mode}] of which submit → claimed: median {statistics.median(pickups) * 1000:.0f} ms",
            flush=True,
        )
        print(
            f"[{args.mode}] service overhead per run: median {statistics.median(overheads) * 1000:.0f} ms, "
            f"p90 {overheads[int(0.9 * (len(overheads) - 1))] * 1000:.0f} ms over {len(overheads)} jobs"
        )

        timed = {"min_secs": args.min_secs, "num_runs": 1}
        t0 = time.monotonic()
        j = job({"devices": {"all": True}, "delegates": ["cpu", "gpu"], **timed})
        farm_s = time.monotonic() - t0
        assert j["state"] == "succeeded", j["state"]

        data = fake_elf("arm64-v8a")  # the virtual phones emulate any ELF for their ABI
        local_bin = tmp / "benchmark_model"
        local_bin.write_bytes(data)
        t0 = time.monotonic()
        for p in phones:
            s = p.address
            adb.cmd("-s", s, "push", str(MODEL), f"/data/local/tmp/byhand_{model['sha256']}.tflite")
            adb.cmd("-s", s, "push", str(local_bin), "/data/local/tmp/byhand_benchmark_model")
            adb.cmd("-s", s, "shell", "chmod 755 /data/local/tmp/byhand_benchmark_model")
            for delegate in ("cpu", "gpu"):
                cmd = build_command(
                    "/data/local/tmp/byhand_benchmark_model",
                    f"/data/local/tmp/byhand_{model['sha256']}.tflite",
                    delegate,
                    2,
                    BenchmarkSpec.model_validate(FAST | timed),
                )
                out = adb.cmd("-s", s, "shell", cmd, timeout=600)
                if "Inference timings" not in out.stdout + out.stderr:
                    print("by-hand run failed:", out.returncode, (out.stdout + out.stderr)[-300:])
        hand_s = time.monotonic() - t0
        print(
            f"[{args.mode}] 4 phones x 2 delegates: farm {farm_s:.2f} s, by hand {hand_s:.2f} s, "
            f"ratio {farm_s / hand_s:.2f}"
        )
    finally:
        fleet.close()
        adb.stop()
        stack.close()


def _seconds(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


if __name__ == "__main__":
    main()
