"""The worker ↔ API seam: what a claim hands the worker and what the worker hands back.

Workers never open the database; they claim, heartbeat, complete and fail runs through
these wire models (the API applies them with server/jobs/lifecycle.py's conditional
updates). Every text field is bounded: a result comes from a phone.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from contracts.binaries import BinaryInfo
from contracts.jobs import BenchmarkSpec
from contracts.vocabulary import ClaimOutcome, FailureCause
from contracts.wire import RequestModel

RAW_OUTPUT_LIMIT = 256 * 1024
"""Characters of tool output sent with a result (head and tail kept); the API refuses more."""
ERROR_LIMIT = 4000
MAX_ID = 2**31 - 1  # database integer columns
INT = Field(None, ge=-MAX_ID, le=MAX_ID)


class RunKey(RequestModel):
    """One attempt at one run on one phone: what every transition after the claim names."""

    run_id: int = Field(ge=1, le=MAX_ID)
    attempt: int = Field(ge=1, le=MAX_ID)
    device_id: int = Field(ge=1, le=MAX_ID)


class FileRef(BaseModel):
    """A file the worker fetches by content: `GET {path}` from the API, checked against sha256."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    path: str = Field(description="API path (under /api/v1) that streams the bytes")


class BinaryRef(BaseModel):
    """A registered benchmark_model: what the worker needs to choose one and fetch it."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    abi: str
    flex: bool = False
    id: int = 0
    size: int = Field(ge=0)
    tool_version: str | None = None
    flags: list[str] | None = None

    def info(self) -> BinaryInfo:
        flags = tuple(self.flags) if self.flags is not None else None
        return BinaryInfo(self.sha256, self.abi, self.flex, self.id, self.tool_version, flags)

    def file(self) -> FileRef:
        return FileRef(sha256=self.sha256, size=self.size, path=f"/binaries/{self.sha256}/file")


class Claim(RunKey):
    job_id: int
    serial: str = Field(description="The phone's adb serial on its host (how to reach it now)")
    is_virtual: bool
    delegate: str
    threads: int
    spec: BenchmarkSpec
    model: FileRef
    needs_flex: bool = Field(False, description="The model has Select TF ops: a Flex build is needed")
    binaries: list[BinaryRef] = Field(
        default_factory=list, description="Registered builds; the worker picks by the phone's abilist"
    )


class ClaimIn(RequestModel):
    worker: str = Field(max_length=200)
    host: str | None = Field(
        None,
        max_length=200,
        description="The claiming worker's farm host: a run whose phone is on another host is not its to take",
    )


class ClaimReply(BaseModel):
    outcome: ClaimOutcome
    claim: Claim | None = None


class BeatReply(BaseModel):
    alive: bool = Field(description="False: the run was cancelled or taken over; stop measuring")


class ResultRecord(RequestModel):
    """One result row as the worker measured it (parser → statistics → this → the results table)."""

    init_us: float | None = None
    first_inference_us: float | None = None
    warmup_avg_us: float | None = None
    avg_us: float
    min_us: float | None = None
    max_us: float | None = None
    std_us: float | None = None
    median_us: float | None = None
    mean_us: float | None = None
    trial_p90_us: float | None = None
    tool_p95_us: float | None = None
    ci_half_pct: float | None = None
    detectable_pct: float | None = None
    cv: float | None = None
    ci95_low_us: float | None = None
    ci95_high_us: float | None = None
    trials: int = Field(1, ge=1, le=MAX_ID)
    unstable: bool = False
    unstable_reason: str | None = Field(None, max_length=500)
    count: int | None = INT
    mem_init_mb: float | None = None
    mem_overall_mb: float | None = None
    mem_peak_mb: float | None = None
    tool_version: str | None = Field(None, max_length=64)
    delegate_applied: str | None = Field(None, max_length=32)
    battery_before: int | None = INT
    battery_after: int | None = INT
    temp_before_c: float | None = None
    temp_after_c: float | None = None
    env: dict[str, Any] = Field(default_factory=dict)


class CompleteIn(RunKey):
    result: ResultRecord
    raw_output: str = Field("", max_length=RAW_OUTPUT_LIMIT + 200)
    command: str = Field("", max_length=8000)


class CompleteReply(BaseModel):
    stored: bool = Field(description="False: the run was no longer ours (cancelled or taken over)")


class FailIn(RunKey):
    error: str = Field(max_length=ERROR_LIMIT + 200)
    raw_output: str | None = Field(None, max_length=RAW_OUTPUT_LIMIT + 200)
    command: str | None = Field(None, max_length=8000)
    device_lost: bool = Field(
        False, description="The phone vanished: another attempt (maybe on a twin), not held against it"
    )
    cause: FailureCause | None = Field(
        None, description="host_misconfigured: the farm lacks something; not held against the phone"
    )


class CapabilitiesIn(RequestModel):
    """What a binary's `--help` (or a real run) said about it."""

    version: str | None = Field(None, max_length=64)
    flags: list[str] | None = Field(None, max_length=2000)


class FailReply(BaseModel):
    retrying: bool = Field(description="The run went back to the queue (on its phone or a twin)")


def bound_text(text: str | None, limit: int = RAW_OUTPUT_LIMIT) -> str | None:
    """Keep the head and the tail of an over-long text, with a note of what was cut."""
    if text is None or len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[… {len(text) - 2 * half} characters cut …]\n{text[-half:]}"
