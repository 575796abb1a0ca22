"""A model too big for a phone's RAM fails to allocate on the virtual phone, as on a phone,
instead of growing the host process that runs the virtual phones."""

from __future__ import annotations

import resource
from pathlib import Path

from contracts.failures import Blame, blame_for
from device_agent import benchmark_output
from tests.hostile.crafted import crafted
from tests.virtual.test_benchmark_tool import FAST, MODEL, bench, make


def test_a_model_needing_more_than_the_phones_ram_fails_to_allocate_and_blames_the_model(
    tmp_path: Path,
) -> None:
    dev = make(tmp_path, "msm8937")
    huge = crafted(dims=[1, 40_000, 40_000, 3], constant=False)  # 19 GB of activations in 300 bytes
    (dev.root / MODEL.lstrip("/")).write_bytes(huge)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rc, text = bench(dev, FAST)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert rc != 0 and "Failed to allocate tensors!" in text and "tensor arena" in text
    assert grown_mb < 200
    failure = benchmark_output.parse(text)
    assert isinstance(failure, benchmark_output.BenchmarkFailure) and failure.kind == "allocation"
    assert blame_for(failure.kind) == Blame.model  # never counted against the phone
