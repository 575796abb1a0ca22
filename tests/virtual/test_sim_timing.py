"""`sim` timing: latency from the profile's cost model, seeded noise, heat that slows the phone."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest

from device_agent import benchmark_output
from device_agent.virtual.device import Faults, VirtualDevice
from device_agent.virtual.profile import load_profile
from device_agent.virtual.sim_timing import Noise, OpCost, plan, thread_factor
from device_agent.virtual.thermal import Governor
from tests.virtual.test_benchmark_tool import bench, make

SEGMENTER = Path(__file__).parents[1] / "fixtures" / "tiny_segmenter.tflite"
RUN = "--num_runs=200 --min_secs=0 --warmup_runs=1 --warmup_min_secs=0 --num_threads=4"


def segmenter(dev: VirtualDevice) -> VirtualDevice:
    """A conv-heavy model, so compute (what heat slows) dominates the fixed per-inference costs."""
    (dev.root / "data/local/tmp/phonefarm/tiny.tflite").write_bytes(SEGMENTER.read_bytes())
    return dev


def _avg(out: str) -> float:
    r = benchmark_output.parse(out)
    assert isinstance(r, benchmark_output.BenchmarkResult), out[-500:]
    return float(r.avg_us)


def test_the_same_job_twice_on_one_sim_phone_agrees_within_the_profile_noise(tmp_path: Path) -> None:
    dev = make(tmp_path, "sdm845", timing_mode="sim")
    a, b = _avg(bench(dev, RUN)[1]), _avg(bench(dev, RUN)[1])
    sim = dev.profile.sim
    assert sim is not None
    assert abs(b / a - 1) < 4 * sim.trial_pct / 100 + 0.01
    assert a != b  # noise, not a constant


def test_two_sim_phones_at_once_time_the_same_as_one_at_a_time(tmp_path: Path) -> None:
    alone = [
        _avg(bench(make(tmp_path / f"a{i}", "msm8953", timing_mode="sim", serial=f"s{i}"), RUN)[1])
        for i in range(2)
    ]
    together: dict[int, float] = {}
    devs = [make(tmp_path / f"b{i}", "msm8953", timing_mode="sim", serial=f"s{i}") for i in range(2)]

    def one(i: int) -> None:
        together[i] = _avg(bench(devs[i], RUN)[1])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(2):
        assert together[i] == pytest.approx(alone[i], rel=0.002)


def test_sim_timings_come_from_the_cost_model_not_the_host(tmp_path: Path) -> None:
    heavy = [OpCost(i, "CONV_2D", 5e7, 2e6, 1e6, "c") for i in range(20)]
    kw: dict[str, Any] = {
        "cpu_kind": "cpu",
        "delegate": None,
        "delegate_ops": None,
        "xnnpack_ops": frozenset(),
        "threads": 4,
    }
    slow = plan(load_profile("msm8937"), heavy, **kw).inference_us()
    fast = plan(load_profile("sdm845"), heavy, **kw).inference_us()
    assert slow > 3 * fast
    dev = make(tmp_path, "sdm845", timing_mode="sim")
    rc, out = bench(dev, RUN)
    assert rc == 0 and "timing mode: sim" in out and "the host's clock is not used" in out


def test_a_sustained_sim_run_throttles_and_latency_rises(tmp_path: Path) -> None:
    dev = segmenter(make(tmp_path, "sdm845", timing_mode="sim", faults=Faults(tau_heat_s=0.5)))
    rc, out = bench(dev, "--num_runs=1 --min_secs=2 --warmup_runs=1 --warmup_min_secs=0 --num_threads=4")
    assert rc == 0
    line = [x for x in out.splitlines() if "count=" in x][-1]
    first, curr = (int(re.search(rf"{k}=(\d+)", line).group(1)) for k in ("first", "curr"))  # type: ignore[union-attr]
    assert curr > 1.2 * first
    assert dev.cur_freqs()[-1] < dev.profile.clusters[-1].max_freq_khz
    assert dev.battery.level() <= dev.profile.battery.level + 1


def test_a_hot_phone_is_slower_from_the_start(tmp_path: Path) -> None:
    cold = _avg(bench(segmenter(make(tmp_path / "c", "sdm845", timing_mode="sim")), RUN)[1])
    hot_phone = make(tmp_path / "h", "sdm845", timing_mode="sim", faults=Faults(hot=80.0))
    hot = _avg(bench(segmenter(hot_phone), RUN)[1])
    assert hot > 1.2 * cold


def test_ops_the_delegate_lacks_run_on_the_cpu_and_pay_a_transfer() -> None:
    prof = load_profile("sdm845")
    conv = OpCost(0, "CONV_2D", 1e8, 1e6, 4e5, "c")
    odd = OpCost(1, "CUSTOM_THING", 1e5, 8e5, 4e5, "x")
    kw = {"cpu_kind": "xnnpack", "xnnpack_ops": frozenset({"CONV_2D"}), "threads": 4}
    whole = plan(prof, [conv, conv], delegate="gpu", delegate_ops=frozenset({"CONV_2D"}), **kw)  # type: ignore[arg-type]
    split = plan(prof, [conv, odd, conv], delegate="gpu", delegate_ops=frozenset({"CONV_2D"}), **kw)  # type: ignore[arg-type]
    assert whole.partitions == 1 and split.partitions == 2
    assert split.cpu_us > 0 and split.fixed_us > whole.fixed_us


def test_threads_beyond_the_fast_cores_help_less() -> None:
    clusters = load_profile("sdm845").clusters
    assert thread_factor(clusters, 4) == 1.0
    assert thread_factor(clusters, 1) == 0.25
    assert 1.0 < thread_factor(clusters, 8) < 2.0


def test_the_governor_caps_past_the_trip_point_and_noise_is_seeded() -> None:
    gov = Governor(trip_c=56.0, ramp_c=18.0, floor=0.55)
    assert gov.scale(40.0) == 1.0 and gov.scale(74.0) == pytest.approx(0.55) and 0.55 < gov.scale(60.0) < 1
    sim = load_profile("sdm845").sim
    assert sim is not None
    a, b = Noise(sim, "x"), Noise(sim, "x")
    assert [a.inference() for _ in range(5)] == [b.inference() for _ in range(5)]
