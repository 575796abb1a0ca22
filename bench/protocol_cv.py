"""Repeatability with and without the measurement protocol, on a `sim` phone. Prints figures only.

Why sim: on a virtual phone in `host` mode heat never slows anything and the host's load is
the noise, so the protocol had nothing to guard against (it measured CV 4.6 % without and
7.0 % with). A sim phone heats under load and its governor caps the big cores past the
trip point, like a phone. The die's time constant is shortened (fault tau_heat_s, default
15 s instead of the profile's 40 s) so ten jobs show in minutes what a phone shows in half an hour.

- without protocol: 1 trial per job, no thermal gate, no cool-down, jobs back to back;
- with protocol: 3 trials, thermal gate (45 °C), 2 s cool-downs between trials;
both measure 6 s per trial.
Prints the CV of the jobs' headline latency (median of trials with the protocol, the single
trial's average without) and each job's value.

Usage: python bench/protocol_cv.py [--jobs 10] [--profile sdm845] [--tau 5] [--zoo]
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
    "min_secs": 6.0,
    "warmup_runs": 1,
    "warmup_min_secs": 0.0,
}
PROTOCOL: dict[str, object] = {
    "trials": 3,
    "thermal_limit_c": 45.0,
    "thermal_timeout_s": 120.0,
    "cooldown_s": 2.0,
    "screen_off": True,
    "num_runs": 20,
    "min_secs": 6.0,
    "warmup_runs": 5,
    "warmup_min_secs": 0.2,
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
    ap.add_argument("--tau", type=float, default=15.0, help="die time constant, s (the fault tau_heat_s)")
    ap.add_argument("--zoo", action="store_true", help="also E-Net 256 from the zoo (needs TensorFlow)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-cv-"))
    stack = FarmStack(tmp, mode="production")
    adb = AdbServer(tmp / "adbhome")
    adb.start()
    fleet = PhoneFleet()
    try:
        phone = fleet.add(args.profile, timing_mode="sim")
        phone.faults.tau_heat_s = args.tau
        adb.connect(phone.address)
        stack.start_api()
        stack.start_agent(adb)
        stack.start_worker(adb)
        stack.wait_online(1)
        models = [("tiny_segmenter", TINY)]
        if args.zoo and (zoo := zoo_model(tmp)) is not None:
            models.append(("enet_256_fp32", zoo))
        print(f"sim phone {args.profile}, die time constant {args.tau:g} s, {args.jobs} jobs per row")
        for name, path in models:
            model = stack.upload(path)
            for label, spec in (("without protocol", BARE), ("with protocol", PROTOCOL)):
                values, temps = [], []
                for _ in range(args.jobs):
                    body = {
                        "model": str(model["id"]),
                        "devices": {"all": True},
                        "delegates": ["cpu"],
                        "threads": [4],
                        **spec,
                    }
                    job = stack.wait_job(stack.http.post("/benchmarks", json=body).json()["id"], 600)
                    res = job["runs"][0]["result"]
                    values.append(res["median_us"] if spec is PROTOCOL else res["avg_us"])
                    temps.append(res["temp_after_c"])
                cv = statistics.stdev(values) / statistics.mean(values)
                print(
                    f"{name:16s} {label:17s}: median {statistics.median(values) / 1000:8.3f} ms, "
                    f"CV over {args.jobs} jobs {cv:6.2%}; max die after a job {max(t or 0 for t in temps):.1f} °C "
                    f"(jobs, ms: {' '.join(f'{v / 1000:.3f}' for v in values)})",
                    flush=True,
                )
    finally:
        fleet.close()
        adb.stop()
        stack.close()


if __name__ == "__main__":
    main()
