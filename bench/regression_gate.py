"""The regression gate's hit rate on a `sim` phone: a 3 % slowdown caught, identical reruns not.

Runs jobs on one sim phone through a whole farm and asks the farm to compare pairs, as
`farm compare A B --fail-on-regression 1%` does (GET /api/v1/compare + the same
`regressions()` the CLI uses):
- 10 tries: a baseline job, then the same job with the phone's fault slowdown=1.03
  (what `farm phone --fault slowdown=1.03` sets) → how many are flagged (want ≥ 9/10);
- 20 tries: consecutive identical jobs (21 jobs) → how many are flagged (want ≤ 1/20).
Prints the counts, the ratios and each pair's smallest detectable regression. Asserts nothing.

Usage: python bench/regression_gate.py [--profile exynos7420] [--trials 5] [--tolerance 1%]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from device_agent.virtual.fleet import PhoneFleet
from server.results.compare import CompareOut, regressions
from tests.stack import AdbServer, FarmStack

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "fixtures" / "tiny_segmenter.tflite"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="exynos7420")
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--tolerance", default="1%")
    ap.add_argument("--slowdown", type=float, default=1.03)
    ap.add_argument("--tries", type=int, default=10)
    ap.add_argument("--reruns", type=int, default=20)
    args = ap.parse_args()
    tol = float(args.tolerance.rstrip("%")) / 100
    tmp = Path(tempfile.mkdtemp(prefix="bench-gate-"))
    stack = FarmStack(tmp, mode="production")
    adb = AdbServer(tmp / "adbhome")
    adb.start()
    fleet = PhoneFleet()
    spec = {
        "delegates": ["cpu"],
        "threads": [4],
        "trials": args.trials,
        "min_secs": 0.3,
        "warmup_min_secs": 0.05,
        "cooldown_s": 0.5,
        "screen_off": False,
    }
    try:
        phone = fleet.add(args.profile, timing_mode="sim")
        adb.connect(phone.address)
        stack.start_api()
        stack.start_agent(adb)
        stack.start_worker(adb)
        stack.wait_online(1)
        model = stack.upload(TINY)

        def job(slowdown: float) -> int:
            phone.faults.slowdown = slowdown
            body = {"model": str(model["id"]), "devices": {"all": True}, **spec}
            return int(stack.wait_job(stack.http.post("/benchmarks", json=body).json()["id"], 300)["id"])

        def flagged(a: int, b: int) -> tuple[bool, float, float | None]:
            out = CompareOut.model_validate(stack.http.get("/compare", params={"a": a, "b": b}).json())
            (pair,) = out.pairs
            return bool(regressions(out, tol)), pair.ratio, pair.detectable_pct

        base = [job(1.0)]
        caught, ratios, detect = 0, [], []
        for _ in range(args.tries):
            cand = job(args.slowdown)
            hit, ratio, d = flagged(base[-1], cand)
            caught += hit
            ratios.append(ratio)
            detect.append(d or float("nan"))
            base.append(job(1.0))
        while len(base) < args.reruns + 1:
            base.append(job(1.0))
        false, rerun_ratios = 0, []
        for a, b in itertools.pairwise(base):
            hit, ratio, _ = flagged(a, b)
            false += hit
            rerun_ratios.append(ratio)
        print(
            f"sim phone {args.profile}, {args.trials} trials per job, gate: slower beyond noise and > {args.tolerance}"
        )
        print(
            f"slowdown x{args.slowdown}: flagged {caught}/{args.tries}; ratios "
            f"{' '.join(f'{r:.4f}' for r in ratios)}; smallest detectable regression "
            f"median {statistics.median(detect):.2f} %"
        )
        print(
            f"identical reruns: flagged {false}/{len(rerun_ratios)}; ratios median {statistics.median(rerun_ratios):.4f}, "
            f"range {min(rerun_ratios):.4f}–{max(rerun_ratios):.4f}"
        )
    finally:
        fleet.close()
        adb.stop()
        stack.close()


if __name__ == "__main__":
    main()
