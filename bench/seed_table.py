"""The seed's table, reproduced by the farm on `sim` phones. Prints figures only.

The seed project (../shared/seed/mobile_semantic_segmentation_README.md) measured four
segmentation networks on four phones. This builds the same four networks from the zoo
(random weights, builtin ops; TensorFlow needed), runs them through a farm (API, worker,
agent, adb) on four virtual phones in `sim` timing mode with the seed phones' profiles
(msm8953 = Snapdragon 625, sdm845 = Snapdragon 845, msm8937 = Snapdragon 430,
exynos7420 = Exynos 7420), on the CPU for DeepLab 513, U-Net and IC-Net and on the GPU for
DeepLab 257 as in the seed, and prints the farm's table beside the seed's with the ratio
per cell. Then, per phone, a throughput scale is calibrated on three networks (geometric
mean of seed/farm) and predicts the fourth (leave one out): the error says how far a
profile calibrated on a few measurements can be trusted on a new network.

The profiles' [sim] tables come from public peak figures (cited in each profile file), not
from the seed's numbers, so the ratio column is an out-of-sample check of the cost model.

Usage: python bench/seed_table.py [--threads 4] [--zoo build/zoo]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from device_agent.virtual.fleet import PhoneFleet
from tests.stack import AdbServer, FarmStack

ROOT = Path(__file__).resolve().parents[1]
PHONES = [("msm8953", "Snapdragon 625"), ("sdm845", "Snapdragon 845"), ("msm8937", "Snapdragon 430"),
          ("exynos7420", "Exynos 7420")]  # fmt: skip
NETS = [
    ("DeepLab V3 CPU [513x513]", "deeplabv3_mnv2_513", "cpu"),
    ("DeepLab V3 GPU [257x257]", "deeplabv3_mnv2_257", "gpu"),
    ("U-Net CPU [224x224]", "unet_224", "cpu"),
    ("IC-Net CPU [256x256]", "icnet_256", "cpu"),
]
SEED_README = ROOT.parent / "shared" / "seed" / "mobile_semantic_segmentation_README.md"
# the seed README's time table (ms), in case the file is not next to the checkout
SEED_MS = {
    "DeepLab V3 CPU [513x513]": [2307.75, 845.35, 5177.05, 2328.35],
    "DeepLab V3 GPU [257x257]": [391.6, 139.55, 630.85, 180.45],
    "U-Net CPU [224x224]": [867.35, 414.68, 1933.13, 975.0],
    "IC-Net CPU [256x256]": [375.05, 127.6, 656.4, 248.85],
}


def seed_table() -> dict[str, list[float]]:
    """The time table parsed from the seed README (falls back to the copy above)."""
    for path in (SEED_README, Path("/work/shared/seed/mobile_semantic_segmentation_README.md")):
        if path.is_file():
            rows: dict[str, list[float]] = {}
            for line in path.read_text().splitlines():
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                if len(cells) == 5 and cells[0] in SEED_MS:
                    try:
                        rows[cells[0]] = [float(c) for c in cells[1:]]
                    except ValueError:
                        continue
            if len(rows) == len(SEED_MS):
                return rows
    return SEED_MS


def build_models(zoo: Path) -> dict[str, Path]:
    wanted = {name: zoo / f"{name}_fp32.tflite" for _, name, _ in NETS}
    missing = [n for n, p in wanted.items() if not p.exists()]
    if missing:
        from models.build import build

        t0 = time.monotonic()
        build(missing, ["fp32"], zoo)
        print(f"built {', '.join(missing)} in {time.monotonic() - t0:.0f} s")
    return wanted


def loo_errors(farm: dict[str, list[float]], seed: dict[str, list[float]]) -> dict[str, list[float]]:
    """Per cell: predicted/seed - 1 when the phone's scale is fitted on the other three networks."""
    out: dict[str, list[float]] = {label: [] for label in seed}
    for col in range(len(PHONES)):
        for label in seed:
            others = [k for k in seed if k != label]
            scale = math.exp(statistics.mean(math.log(seed[k][col] / farm[k][col]) for k in others))
            out[label].append(farm[label][col] * scale / seed[label][col] - 1)
    return out


def loo_phone_errors(farm: dict[str, list[float]], seed: dict[str, list[float]]) -> dict[str, list[float]]:
    """Per cell: predicted/seed - 1 when the network's scale is fitted on the other three phones.

    The other direction: how well the profiles order the phones, whatever the network."""
    out: dict[str, list[float]] = {label: [] for label in seed}
    for label in seed:
        for col in range(len(PHONES)):
            others = [c for c in range(len(PHONES)) if c != col]
            scale = math.exp(statistics.mean(math.log(seed[label][c] / farm[label][c]) for c in others))
            out[label].append(farm[label][col] * scale / seed[label][col] - 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--zoo", type=Path, default=ROOT / "build" / "zoo")
    args = ap.parse_args()
    seed = seed_table()
    paths = build_models(args.zoo)
    tmp = Path(tempfile.mkdtemp(prefix="bench-seed-"))
    stack = FarmStack(tmp, mode="production")
    adb = AdbServer(tmp / "adbhome")
    adb.start()
    fleet = PhoneFleet()
    farm: dict[str, list[float]] = {}
    try:
        for profile, _ in PHONES:
            adb.connect(fleet.add(profile, timing_mode="sim").address)
        stack.start_api()
        stack.start_agent(adb)
        stack.start_worker(adb, concurrency=4)
        devices = stack.wait_online(len(PHONES), timeout=60)
        serial_profile = {ph.serial: ph.device.profile.id for ph in fleet.phones}
        serial_profile |= {ph.address: ph.device.profile.id for ph in fleet.phones}
        profile_of = {d["id"]: serial_profile.get(d["serial"], d["serial"]) for d in devices}
        for label, name, delegate in NETS:
            model = stack.upload(paths[name])
            body = {
                "model": str(model["id"]),
                "devices": {"all": True},
                "delegates": [delegate],
                "threads": [args.threads],
                "trials": 1,
                "num_runs": 3,
                "min_secs": 0,
                "warmup_runs": 1,
                "warmup_min_secs": 0,
                "cooldown_s": 0,
                "thermal_limit_c": None,
                "screen_off": False,
            }
            job = stack.wait_job(stack.http.post("/benchmarks", json=body).json()["id"], 1800)
            got = {
                profile_of[r["device_id"]]: r["result"]["median_us"] / 1000
                for r in job["runs"]
                if r["result"]
            }
            farm[label] = [got.get(p, float("nan")) for p, _ in PHONES]
    finally:
        fleet.close()
        adb.stop()
        stack.close()

    head = f"{'':26s}" + "".join(f"{soc:>17s}" for _, soc in PHONES)
    print("\nFarm (sim phones, median ms)          |  seed README (ms)  |  farm / seed")
    print(head)
    for label, *_ in NETS:
        print(f"{label:26s}" + "".join(f"{v:17.1f}" for v in farm[label]))
    print("seed:")
    for label, *_ in NETS:
        print(f"{label:26s}" + "".join(f"{v:17.1f}" for v in seed[label]))
    print("farm / seed:")
    ratios = []
    for label, *_ in NETS:
        r = [f / s for f, s in zip(farm[label], seed[label], strict=True)]
        ratios += r
        print(f"{label:26s}" + "".join(f"{v:17.2f}" for v in r))
    print(f"geometric-mean ratio {math.exp(statistics.mean(math.log(r) for r in ratios)):.2f}, "
          f"range {min(ratios):.2f}–{max(ratios):.2f}")  # fmt: skip
    errs = loo_errors(farm, seed)
    print("\nleave one out (phone scale fitted on the other three networks), predicted / seed - 1:")
    for label, *_ in NETS:
        print(f"{label:26s}" + "".join(f"{e:+17.0%}" for e in errs[label]))
    flat = [abs(e) for v in errs.values() for e in v]
    print(
        f"mean |error| {statistics.mean(flat):.0%}, median {statistics.median(flat):.0%}, max {max(flat):.0%}"
    )


if __name__ == "__main__":
    main()
