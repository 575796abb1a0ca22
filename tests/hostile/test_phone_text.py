"""Hostile text from phones is parsed in linear time and bounded before it is kept.

Bounds here are generous (a return to quadratic behaviour takes tens of seconds); the
figures are printed by bench/hostile.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contracts.output import KEEP_BYTES, BoundedBuffer, bound
from device_agent import identity
from device_agent.benchmark_output import BenchmarkResult, parse

DATA = Path(__file__).resolve().parents[1] / "unit" / "data" / "benchmark"


def _timed(fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    t0 = time.thread_time()
    out = fn(*args)
    return out, time.thread_time() - t0


def test_a_60kb_count_line_parses_in_under_a_second_and_the_run_around_it_still_parses() -> None:
    real = (DATA / "tflite_2.4_gpu_full_op_profiling.txt").read_text()
    expected = parse(real)
    assert isinstance(expected, BenchmarkResult)
    hostile = "count=1 " + "a" * 60_000
    got, seconds = _timed(parse, hostile + "\n" + real)
    assert seconds < 1.0
    assert isinstance(got, BenchmarkResult) and got.avg_us == expected.avg_us


def test_other_backtracking_shapes_parse_in_under_a_second() -> None:
    header = "\t [node type]\t  [first]\t  [avg ms]\t  [%]\t  [cdf%]\t  [mem KB]\t[times called]\t[Name]"
    for line in (
        "count=1 " + "a=" * 30_000,
        "Inference timings in us: " + "a a" * 20_000,
        "Num threads" + " " * 60_000 + "x",
        "delegate " * 7_000,
        "benchmark_model" * 4_000,
        "11-25 01:02:03.456  1234  1234 I " + " " * 60_000,
        "===== Run Order =====\n" + header + "\n" + ("CONV " + "1 " * 5 + "x ") * 3000,
    ):
        _, seconds = _timed(parse, line)
        assert seconds < 1.0, line[:40]


def test_a_100kb_hardware_line_identifies_in_under_a_second() -> None:
    for hostile in ("Hardware\t: " + "a" * 100_000, "Hardware: " + " " * 100_000 + "x"):
        soc, seconds = _timed(identity.identify, {"ro.board.platform": "msm8953"}, hostile)
        assert seconds < 1.0
        assert soc.name == "Snapdragon 625" or not soc.known  # the platform still counts
        assert len(soc.name) <= identity.MAX_VALUE


def test_300mb_of_output_is_kept_as_head_and_tail_with_its_size() -> None:
    text = "head line\n" + "x" * (3 * KEEP_BYTES) + "\ntail line"
    kept, size = bound(text)
    assert size == len(text) and kept is not None
    assert kept.startswith("head line") and kept.endswith("tail line")
    assert "omitted by the farm" in kept and len(kept.encode()) < 2 * KEEP_BYTES + 200
    buf = BoundedBuffer()
    for _ in range(40):
        buf.write(b"y" * 100_000)
    assert buf.size == 4_000_000 and len(buf.text()) < 2 * KEEP_BYTES + 200
