"""Repeatability with and without the measurement protocol (issue 7). Prints figures; asserts nothing.

For the tiny fixture and a zoo model (E-Net 256, built with TensorFlow if `build/zoo` lacks it),
runs 10 jobs on one virtual phone without the protocol (1 trial, no gate, no cool-down) and 10
with it (3 trials, thermal gate, cool-down), and prints the coefficient of variation of the
jobs' headline latency (median for the protocol, the single run's average without).

Usage: python bench/protocol_cv.py [--jobs 10] [--profile sdm845]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from device_agent.virtual.fleet import PhoneFleet
from tests.stack import AdbServer, FarmStack

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "fixtures" / "tiny_segmenter.tflite"
BARE: dict[str, object] = {
    "trials": 1,
    "thermal_limit_c": None,
    "cooldown_s": 0,
    "screen_off": False,
    "num_runs": 20,
    "min_secs": 0.5,
    "warmup_runs": 1,
    "warmup_min_secs": 0.0,
}
PROTOCOL: dict[str, object] = {
    "trials": 3,
    "thermal_limit_c": 45.0,
    "thermal_timeout_s": 120.0,
    "cooldown_s": 1.0,
    "screen_off": True,
    "num_runs": 20,
    "min_secs": 0.5,
    "warmup_runs": 5,
    "warmup_min_secs": 0.5,
}


def zoo_model(tmp: Path) -> Path | None:
    built = ROOT / "build" / "zoo" / "enet_256_fp32.tflite"
    if built.exists():
        return built
    try:
        from models.build import build
    except ImportError:
        return None
    try:
        build(["enet_256"], ["fp32"], tmp / "zoo")
    except ImportError:
        return None
    return tmp / "zoo" / "enet_256_fp32.tflite"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=10)
    ap.add_argument("--profile", default="sdm845")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-cv-"))
    stack = FarmStack(tmp, mode="production")
    adb = AdbServer(tmp / "adbhome")
    adb.start()
    fleet = PhoneFleet()
    try:
        phone = fleet.add(args.profile)
        adb.connect(phone.address)
        stack.start_api()
        stack.start_agent(adb)
        stack.start_worker(adb)
        stack.wait_online(1)
        models = [("tiny_segmenter", TINY)]
        if (zoo := zoo_model(tmp)) is not None:
            models.append(("enet_256_fp32", zoo))
        else:
            print("(no TensorFlow: zoo model skipped; pip install -e '.[zoo]')")
        for name, path in models:
            model = stack.upload(path)
            for label, spec in (("without protocol", BARE), ("with protocol", PROTOCOL)):
                values = []
                for _ in range(args.jobs):
                    body = {
                        "model": str(model["id"]),
                        "devices": {"all": True},
                        "delegates": ["cpu"],
                        "threads": [2],
                        **spec,
                    }
                    job = stack.wait_job(stack.http.post("/benchmarks", json=body).json()["id"], 600)
                    res = job["runs"][0]["result"]
                    values.append(res["median_us"] if spec is PROTOCOL else res["avg_us"])
                cv = statistics.stdev(values) / statistics.mean(values)
                print(
                    f"{name:16s} {label:17s}: median {statistics.median(values) / 1000:8.3f} ms, "
                    f"CV over {args.jobs} jobs {cv:6.2%} (jobs, ms: {' '.join(f'{v / 1000:.3f}' for v in values)})"
                )
    finally:
        fleet.close()
        adb.stop()
        stack.close()


if __name__ == "__main__":
    main()
