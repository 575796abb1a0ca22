"""The phone command line is built from whitelisted flags and quoted values only."""

from __future__ import annotations

import shlex

import pytest
from pydantic import ValidationError

from contracts.jobs import BenchmarkSpec
from device_agent.phone.benchmark import build_command
from device_agent.phone.probe import parse_getprop
from device_agent.phone.snapshot import parse_dumpsys_battery, parse_zone_temp

SPEC = BenchmarkSpec(
    num_runs=50, warmup_runs=1, min_secs=1.0, gpu_precision_loss_allowed=True, enable_op_profiling=False
)


def test_gpu_command_has_delegate_and_typed_flags() -> None:
    cmd = build_command(
        "/data/local/tmp/phonefarm/benchmark_model-abc", "/data/local/tmp/phonefarm/x.tflite", "gpu", 4, SPEC
    )
    words = shlex.split(cmd)
    assert words[0] == "/data/local/tmp/phonefarm/benchmark_model-abc"
    assert "--use_gpu=true" in words
    assert "--num_threads=4" in words
    assert "--num_runs=50" in words
    assert "--gpu_precision_loss_allowed=true" in words
    assert "--enable_op_profiling=false" in words


def test_cpu_command_disables_xnnpack_and_drops_gpu_only_flags() -> None:
    words = shlex.split(build_command("/b", "/m.tflite", "cpu", 1, SPEC))
    assert "--use_xnnpack=false" in words
    assert not any(w.startswith("--gpu_precision") for w in words)


def test_unknown_spec_keys_never_reach_the_phone() -> None:
    with pytest.raises(ValidationError):
        BenchmarkSpec.model_validate({"evil": "; rm -rf /"})
    stored = SPEC.model_dump() | {"evil": "; rm -rf /", "devices": {"all": True}}
    cmd = build_command("/b", "/m.tflite", "cpu", 1, BenchmarkSpec.from_stored(stored))
    assert "evil" not in cmd and "rm -rf" not in cmd


def test_worker_and_api_share_one_set_of_defaults() -> None:
    from server.jobs.schemas import BenchmarkIn

    request = BenchmarkIn.model_validate({"model": "m", "devices": {"all": True}})
    stored = request.model_dump(mode="json", exclude={"model", "public"})
    assert BenchmarkSpec.from_stored(stored) == BenchmarkSpec.from_stored({})
    assert (SPEC.trials, SPEC.battery_floor, SPEC.cooldown_s) == (3, 20, 2.0)


def test_hostile_paths_are_quoted() -> None:
    cmd = build_command("/b", "/m'; reboot; echo '.tflite", "nnapi", 2, SPEC)
    words = shlex.split(cmd)
    assert words[1] == "--graph=/m'; reboot; echo '.tflite"
    assert words[2:4] == ["--num_threads=2", "--use_nnapi=true"]


def test_non_numeric_values_are_refused() -> None:
    with pytest.raises(ValidationError):
        BenchmarkSpec.model_validate({"num_runs": "5; reboot"})
    with pytest.raises(ValueError):
        build_command("/b", "/m.tflite", "tpu", 1, SPEC)


DUMPSYS_BATTERY = """Current Battery Service state:
  AC powered: false
  USB powered: true
  Wireless powered: false
  Max charging current: 500000
  status: 2
  health: 2
  present: true
  level: 87
  scale: 100
  voltage: 4211
  temperature: 312
  technology: Li-ion
"""


def test_dumpsys_battery() -> None:
    assert parse_dumpsys_battery(DUMPSYS_BATTERY) == (87, True, 31.2)
    assert parse_dumpsys_battery("") == (None, None, None)


def test_zone_temps_in_millidegrees_or_degrees() -> None:
    assert parse_zone_temp("45000\n") == 45.0
    assert parse_zone_temp("38") == 38.0
    assert parse_zone_temp("n/a") is None


def test_getprop_listing() -> None:
    text = "[ro.board.platform]: [sdm845]\n[ro.product.model]: [Pixel 3]\n[empty]: []\ngarbage\n"
    assert parse_getprop(text) == {"ro.board.platform": "sdm845", "ro.product.model": "Pixel 3", "empty": ""}
