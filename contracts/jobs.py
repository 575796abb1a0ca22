"""The benchmark job spec: one definition, one set of defaults, from the request to the command line.

The API validates a request into it, the job stores it, the claim hands it to the worker
and `build_command` reads it. The worker has no defaults of its own: whatever is not in
a stored spec gets the default written here, the same one the API applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.vocabulary import Delegate
from contracts.wire import RequestModel


class InferenceTask(BaseModel):
    """What an inference run (POST /inferences) feeds the model and expects back.

    Written by the server (server/inferences/service.submit), never by a user: the worker
    fetches the input tensor by sha256 (`input_file`) and uploads the output it pulls.
    """

    id: int = Field(ge=1)
    input_name: str = Field(max_length=256)
    input_shape: list[int] = Field(max_length=16)
    output_bytes: int = Field(ge=0)
    input_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    input_size: int = Field(0, ge=0)

    def input_path(self) -> str:
        """The API path (under /api/v1) that streams the input tensor."""
        return f"/inferences/{self.id}/input"


class BenchmarkSpec(RequestModel):
    """How each run measures. Bounds keep a typo from occupying a phone for a day."""

    model_config = ConfigDict(extra="forbid")

    delegates: list[Delegate] = Field(default_factory=lambda: [Delegate.cpu], min_length=1, max_length=4)
    threads: list[int] = Field(default_factory=lambda: [4], min_length=1, max_length=8)
    num_runs: int = Field(50, ge=1, le=10000, description="Minimum measured inferences")
    warmup_runs: int = Field(1, ge=0, le=1000)
    min_secs: float = Field(1.0, ge=0, le=600, description="Minimum measured duration")
    max_secs: float = Field(150.0, gt=0, le=3600)
    warmup_min_secs: float = Field(0.5, ge=0, le=600)
    run_delay: float = Field(-1.0, ge=-1, le=10, description="Seconds between inferences (-1: none)")
    gpu_precision_loss_allowed: bool = True
    enable_op_profiling: bool = False
    op_profile: bool | None = Field(
        None,
        description="Run one op-profiling trial after the measured ones (placement, CPU fallbacks, "
        "top ops); unset means on for gpu and nnapi",
    )
    numerics: bool = Field(
        False,
        description="Feed a fixed deterministic input once per run and compare each non-CPU delegate's "
        "outputs with the CPU's on the same phone (GET /benchmarks/{id}/numerics)",
    )
    report_peak_memory_footprint: bool = True
    kind: Literal["benchmark", "inference"] = Field(
        "benchmark", description="Set by the server: inference jobs come from POST /inferences"
    )
    inference: InferenceTask | None = Field(None, description="Set by the server for inference jobs")
    # measurement protocol: repeated trials behind a thermal and battery gate
    trials: int = Field(3, ge=1, le=20, description="Benchmark invocations per run, each after the gates")
    cooldown_s: float = Field(2.0, ge=0, le=600, description="Rest between trials")
    thermal_limit_c: float | None = Field(
        45.0, ge=20, le=100, description="Wait before a trial until the hottest CPU zone is below this"
    )
    thermal_timeout_s: float = Field(
        300.0, ge=0, le=3600, description="Give up waiting for the phone to cool"
    )
    battery_floor: int = Field(20, ge=0, le=100, description="Refuse to measure on a phone below this charge")
    screen_off: bool = Field(
        True, description="Turn the screen off before measuring where the phone allows it"
    )
    unstable_cv: float = Field(
        0.05, gt=0, le=1, description="Flag results whose coefficient of variation passes this"
    )
    target_ci_pct: float | None = Field(
        None,
        gt=0,
        le=50,
        description="Adaptive precision: add trials until the 95 % CI half-width of the median is within "
        "this % of the median (or max_trials)",
    )
    max_trials: int = Field(20, ge=1, le=50, description="Cap on trials when target_ci_pct is set")
    sustained_s: float | None = Field(
        None,
        gt=0,
        le=3600,
        description="Also run the model continuously this long, recording latency and temperature over time",
    )
    sustained_segment_s: float = Field(2.0, ge=0.2, le=60, description="Length of one sustained sample")

    @field_validator("threads")
    @classmethod
    def _threads(cls, v: list[int]) -> list[int]:
        if any(t < 1 or t > 16 for t in v):
            raise ValueError("threads must be between 1 and 16")
        return sorted(set(v))

    @field_validator("delegates")
    @classmethod
    def _dedupe(cls, v: list[Delegate]) -> list[Delegate]:
        return list(dict.fromkeys(v))

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> BenchmarkSpec:
        """A job's stored spec (which also holds the device selector) as a spec: unknown keys dropped."""
        return cls.model_validate({k: v for k, v in stored.items() if k in cls.model_fields})
