"""Benchmark job requests and views. Unknown fields are refused: no flag reaches a phone unless listed here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts.jobs import BenchmarkSpec
from contracts.wire import RequestModel


class DeviceSelector(RequestModel):
    """Each criterion given narrows the choice; inside a list, any value matches."""

    model_config = ConfigDict(extra="forbid")

    all: bool = Field(False, description="Every runnable phone (other criteria still narrow it)")
    ids: list[int] = Field(default_factory=list, max_length=1000)
    serials: list[str] = Field(default_factory=list, max_length=1000)
    socs: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="SoC marketing name, codename, chip id (sm8550) or an unambiguous prefix of a name",
    )
    tags: list[str] = Field(default_factory=list, max_length=100)
    include_virtual: bool = True
    allow_partial: bool = Field(
        False, description="Run on what matches even when some ids, serials, socs or tags match nothing"
    )

    @model_validator(mode="after")
    def _something(self) -> DeviceSelector:
        if not (self.all or self.ids or self.serials or self.socs or self.tags):
            raise ValueError("choose phones: set all=true or give ids, serials, socs or tags")
        return self

    def describe(self) -> str:
        parts = [
            f"{k}={v}" for k, v in self.model_dump(exclude={"include_virtual", "allow_partial"}).items() if v
        ]
        return ", ".join(parts)


class BenchmarkIn(BenchmarkSpec):
    model: int | str = Field(
        description='Model id (1 or "1"), sha256 (or 8+ char prefix), file name or zoo name',
        union_mode="left_to_right",
    )

    @field_validator("model")
    @classmethod
    def _model_ref(cls, v: int | str) -> int | str:
        if isinstance(v, str) and not 1 <= len(v) <= 200:
            raise ValueError("a model reference is 1 to 200 characters")
        if isinstance(v, int) and not 1 <= v <= 2**62:
            raise ValueError("a model id is a positive integer")
        return v

    @model_validator(mode="after")
    def _benchmark_only(self) -> BenchmarkIn:
        if self.kind != "benchmark" or self.inference is not None:
            raise ValueError("kind and inference are the server's: submit an inference with POST /inferences")
        return self

    devices: DeviceSelector
    public: bool | None = Field(None, description="Default: the model's own visibility")


class ResultOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    run_id: int
    job_id: int
    model_id: int
    device_id: int
    delegate: str
    delegate_applied: str | None
    threads: int
    init_us: float | None
    first_inference_us: float | None
    warmup_avg_us: float | None
    avg_us: float
    min_us: float | None
    max_us: float | None
    std_us: float | None
    median_us: float | None
    mean_us: float | None
    trial_p90_us: float | None = Field(
        None, description="90th percentile over the trial values, not inferences"
    )
    tool_p95_us: float | None = Field(
        None, description="benchmark_model's own per-inference p95, when printed"
    )
    cv: float | None
    ci95_low_us: float | None
    ci95_high_us: float | None
    ci_half_pct: float | None = Field(None, description="Precision reached: CI half-width, % of the median")
    detectable_pct: float | None = Field(None, description="Smallest slowdown (%) a compare can detect")
    trials: int
    unstable: bool
    unstable_reason: str | None
    count: int | None
    mem_init_mb: float | None
    mem_overall_mb: float | None
    mem_peak_mb: float | None
    tool_version: str | None
    battery_before: int | None
    battery_after: int | None
    temp_before_c: float | None
    temp_after_c: float | None
    env: dict[str, Any]
    created_at: datetime


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    device_id: int
    original_device_id: int
    delegate: str
    threads: int
    state: str
    attempts: int
    error: str | None
    failure_kind: str | None = Field(
        None, description="What failed (model_invalid, allocation, crash, timeout, ...)"
    )
    blame: str | None = Field(
        None,
        description="Whose failure: phone (counts towards quarantine), model, spec, host_misconfigured, repeat",
    )
    output_bytes: int | None = Field(
        None, description="Size of the whole tool output; head and tail are kept"
    )
    command: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: ResultOut | None = None
    # not read from the row (the column is deferred: a job view must not load every output)
    raw_output: str | None = Field(
        None,
        validation_alias="raw_output_if_asked",
        description="Tool output, head and tail (only with ?raw=true; see .../runs/{id}/output)",
    )


class Progress(BaseModel):
    total: int
    queued: int
    running: int
    succeeded: int
    failed: int
    cancelled: int
    done: int


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    model_id: int
    state: str
    spec: dict[str, Any]
    submitter: str | None
    public: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: Progress
    runs: list[RunOut] = Field(default_factory=list)
