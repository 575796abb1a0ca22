"""Inference requests and views. Unknown fields are refused; what reaches a phone is listed here."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.numerics import DEFAULT_THRESHOLD
from contracts.vocabulary import Delegate
from contracts.wire import RequestModel
from server.jobs.schemas import DeviceSelector


class PreprocessingIn(RequestModel):
    """Either a range or mean/std per channel; unset: the zoo model card, else [0, 1] for float inputs."""

    model_config = ConfigDict(extra="forbid")

    range: Literal["0,1", "-1,1", "0,255"] | None = None
    mean: list[float] | None = Field(None, min_length=1, max_length=3)
    std: list[float] | None = Field(None, min_length=1, max_length=3)

    @field_validator("std")
    @classmethod
    def _positive(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and any(not (x > 0) for x in v):
            raise ValueError("std values must be positive")
        return v


class InferenceIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="Model id, sha256 (or 8+ char prefix) or zoo name", max_length=200)
    devices: DeviceSelector
    delegates: list[Delegate] = Field(
        default_factory=lambda: [Delegate.cpu, Delegate.gpu], min_length=1, max_length=4
    )
    threads: int = Field(4, ge=1, le=16)
    preprocessing: PreprocessingIn | None = None
    numerics_threshold: float = Field(
        DEFAULT_THRESHOLD, gt=0, le=1, description="Pixel agreement with the CPU below this is a mismatch"
    )
    public: bool = Field(False, description="Images are private unless said otherwise")

    @field_validator("delegates")
    @classmethod
    def _dedupe(cls, v: list[Delegate]) -> list[Delegate]:
        return list(dict.fromkeys(v))


class NumericsOut(BaseModel):
    max_abs_diff: float
    mean_abs_diff: float
    pixel_agreement: float | None
    miou: float | None
    agreement: float
    threshold: float
    bit_exact: bool
    numerics_mismatch: bool


class InferenceRunOut(BaseModel):
    run_id: int
    device_id: int
    phone: str
    soc: str | None
    delegate: str
    state: str
    error: str | None
    inference_us: float | None
    outputs: list[dict[str, Any]] = Field(
        default_factory=list, description="Output tensors: name, shape, dtype"
    )
    has_mask: bool = False
    mask_url: str | None = None
    overlay_url: str | None = None
    note: str | None = None
    numerics: NumericsOut | None = Field(None, description="Against the CPU run on the same phone")
    numerics_mismatch: bool = False


class InferenceOut(BaseModel):
    id: int
    job_id: int
    model_id: int
    state: str
    image: dict[str, Any]
    input: dict[str, Any]
    preprocessing: dict[str, Any]
    numerics_threshold: float
    numerics_mismatch: bool
    runs: list[InferenceRunOut]
    created_at: datetime
