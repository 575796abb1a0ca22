"""The virtual benchmark_model's op profile: the CSV file in the real tool's columns, placement per SoC."""

from __future__ import annotations

import asyncio
from pathlib import Path

from device_agent import op_profile
from device_agent.virtual.benchmark_tool import stub_binary
from device_agent.virtual.device import VirtualDevice

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_segmenter_cumsum.tflite"
DIR = "/data/local/tmp/phonefarm"
FLAGS = "--num_runs=3 --min_secs=0 --warmup_runs=1 --warmup_min_secs=0 --enable_op_profiling=true"


def _phone(tmp_path: Path, profile: str) -> VirtualDevice:
    dev = VirtualDevice.from_profile(profile, root=tmp_path / profile)
    d = dev.root / DIR.lstrip("/")
    d.mkdir(parents=True)
    (d / "benchmark_model").write_bytes(stub_binary())
    (d / "benchmark_model").chmod(0o755)
    (d / "m.tflite").write_bytes(FIXTURE.read_bytes())
    return dev


def _run(dev: VirtualDevice, flags: str) -> tuple[int, str]:
    chunks: list[bytes] = []

    async def sink(b: bytes) -> None:
        chunks.append(b)

    rc = asyncio.run(dev.shell(f"{DIR}/benchmark_model --graph={DIR}/m.tflite {flags}", sink, sink))
    return rc, b"".join(chunks).decode()


def test_csv_mode_writes_the_profile_file_and_keeps_tables_out_of_the_log(tmp_path: Path) -> None:
    dev = _phone(tmp_path, "sm8550")
    rc, text = _run(
        dev, f"--use_gpu=true {FLAGS} --op_profiling_output_mode=csv --op_profiling_output_file={DIR}/p.csv"
    )
    assert rc == 0, text
    csv = (dev.root / DIR.lstrip("/") / "p.csv").read_text()
    assert "node type, first, avg_ms, %, cdf%, mem KB, times called, name" in csv
    assert "node type, count, avg_ms, avg %, cdf %, mem KB, times called" in csv
    assert "Operator-wise Profiling Info for Regular Benchmark Runs:" in csv
    assert "[node type]" not in text and "ESTIMATED" in text


def test_an_op_the_gpu_refuses_falls_back_and_placement_differs_by_soc(tmp_path: Path) -> None:
    found = {}
    for soc in ("sm8550", "exynos7420"):
        dev = _phone(tmp_path, soc)
        out = f"{DIR}/p.csv"
        rc, text = _run(
            dev, f"--use_gpu=true {FLAGS} --op_profiling_output_mode=csv --op_profiling_output_file={out}"
        )
        assert rc == 0, text
        csv = (dev.root / out.lstrip("/")).read_text()
        found[soc] = op_profile.placement("gpu", text, csv)
    new, old = found["sm8550"], found["exynos7420"]
    assert (new.source, new.nodes_total, new.nodes_delegated) == ("csv", 16, 15)
    assert [f.op_type for f in new.fallback_ops] == ["CUMSUM"]
    # this Mali's profile also refuses bilinear resizes: more of the graph stays on the CPU
    assert old.nodes_delegated is not None and new.nodes_delegated is not None
    assert old.nodes_delegated < new.nodes_delegated
    assert {f.op_type for f in old.fallback_ops} == {"CUMSUM", "RESIZE_BILINEAR"}
    assert next(f for f in old.fallback_ops if f.op_type == "RESIZE_BILINEAR").count == 2


def test_stdout_tables_still_parse_without_the_csv_flags(tmp_path: Path) -> None:
    dev = _phone(tmp_path, "sm8550")
    rc, text = _run(dev, f"--use_gpu=true {FLAGS}")
    assert rc == 0, text
    p = op_profile.placement("gpu", text)
    assert (p.source, p.nodes_total, p.nodes_delegated) == ("stdout", 16, 15)
    assert [f.op_type for f in p.fallback_ops] == ["CUMSUM"]
