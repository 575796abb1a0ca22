"""One result per succeeded run (run_id is unique: a redelivered task cannot add a second).

Job, model, device and delegate are copied from the run so the leaderboard and
comparison pages aggregate over one indexed table instead of joining four.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, utcnow


class Result(Base):
    __tablename__ = "results"
    __table_args__ = (
        Index("ix_results_model_delegate_avg", "model_id", "delegate", "avg_us"),
        Index("ix_results_device_model", "device_id", "model_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), unique=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    delegate: Mapped[str] = mapped_column(String(16))
    delegate_applied: Mapped[str | None] = mapped_column(String(32))
    threads: Mapped[int]
    init_us: Mapped[float | None] = mapped_column(Float)
    first_inference_us: Mapped[float | None] = mapped_column(Float)
    warmup_avg_us: Mapped[float | None] = mapped_column(Float)
    avg_us: Mapped[float] = mapped_column(Float)
    min_us: Mapped[float | None] = mapped_column(Float)
    max_us: Mapped[float | None] = mapped_column(Float)
    std_us: Mapped[float | None] = mapped_column(Float)
    median_us: Mapped[float | None] = mapped_column(Float)
    mean_us: Mapped[float | None] = mapped_column(Float)
    # 90th percentile over the trial values (not over inferences); the tool's own p95 when printed
    trial_p90_us: Mapped[float | None] = mapped_column(Float)
    tool_p95_us: Mapped[float | None] = mapped_column(Float)
    cv: Mapped[float | None] = mapped_column(Float)
    ci95_low_us: Mapped[float | None] = mapped_column(Float)
    ci95_high_us: Mapped[float | None] = mapped_column(Float)
    ci_half_pct: Mapped[float | None] = mapped_column(Float)  # precision reached, % of the median
    detectable_pct: Mapped[float | None] = mapped_column(Float)  # smallest regression it can detect
    trials: Mapped[int] = mapped_column(default=1)
    unstable: Mapped[bool] = mapped_column(default=False)
    unstable_reason: Mapped[str | None] = mapped_column(String(500))
    count: Mapped[int | None]
    mem_init_mb: Mapped[float | None] = mapped_column(Float)
    mem_overall_mb: Mapped[float | None] = mapped_column(Float)
    mem_peak_mb: Mapped[float | None] = mapped_column(Float)
    tool_version: Mapped[str | None] = mapped_column(String(64))
    battery_before: Mapped[int | None]
    battery_after: Mapped[int | None]
    temp_before_c: Mapped[float | None] = mapped_column(Float)
    temp_after_c: Mapped[float | None] = mapped_column(Float)
    env: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


RESULT_KEYS = ("id", "run_id", "job_id", "model_id", "device_id", "delegate", "delegate_applied", "threads")
"""What a result is about (copied from its run), as opposed to what was measured."""

MEASUREMENTS = (
    "init_us",
    "first_inference_us",
    "warmup_avg_us",
    "avg_us",
    "min_us",
    "max_us",
    "std_us",
    "median_us",
    "mean_us",
    "trial_p90_us",
    "tool_p95_us",
    "cv",
    "ci95_low_us",
    "ci95_high_us",
    "ci_half_pct",
    "detectable_pct",
    "trials",
    "unstable",
    "unstable_reason",
    "count",
    "mem_init_mb",
    "mem_overall_mb",
    "mem_peak_mb",
    "tool_version",
    "battery_before",
    "battery_after",
    "temp_before_c",
    "temp_after_c",
)
"""The measured fields of a result, in the order exports and pages show them: the one list.

A new result column is added to `Result`, here, to `ResultOut` (the API schema) and to the
worker's record; tests/unit/test_result_fields.py fails until all of them agree.
"""


class ResultRollup(Base):
    """Per model × phone × delegate (× visibility) sums, kept in the transaction that adds a result.

    Why: the leaderboard and comparison pages aggregate every result; at 400,000 results a
    GROUP BY over `results` costs half a second and more. These rows hold the sums those
    pages need (count, sum and sum of squares of the averages, summed variances, min, max),
    so a page reads thousands of rows, not hundreds of thousands. `public`/`submitter_id` are
    the job's, so visibility filters the same way as on results (`submitter_id` is 0, not NULL,
    for the farm's own jobs: it is part of the upsert's key and NULLs never conflict).
    """

    __tablename__ = "result_rollups"
    __table_args__ = (
        UniqueConstraint(
            "model_id", "device_id", "delegate", "public", "submitter_id", name="uq_result_rollups_key"
        ),
        Index("ix_result_rollups_model", "model_id", "delegate"),
        Index("ix_result_rollups_private", "public", "submitter_id", "model_id"),
        Index("ix_result_rollups_last_result", "last_result_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    delegate: Mapped[str] = mapped_column(String(16))
    public: Mapped[bool] = mapped_column(Boolean)
    submitter_id: Mapped[int] = mapped_column(default=0)  # a user id; 0: the farm's own (no FK: derived rows)
    n: Mapped[int] = mapped_column(default=0)
    sum_avg_us: Mapped[float] = mapped_column(Float, default=0.0)
    sum_sq_avg_us: Mapped[float] = mapped_column(Float, default=0.0)
    sum_var_us: Mapped[float] = mapped_column(Float, default=0.0)  # sum of each result's std²
    min_us: Mapped[float | None] = mapped_column(Float)
    max_us: Mapped[float | None] = mapped_column(Float)
    last_job_id: Mapped[int] = mapped_column(default=0)
    last_result_id: Mapped[int] = mapped_column(default=0)


class ResultGroupRollup(Base):
    """Public results per model × delegate × phone group (SoC, nominal RAM, virtual): the comparison table.

    Holds the sum over phones of each phone's mean latency and the number of phones, kept in
    the same transaction as each public result (rollup.add). The comparison page reads these
    few thousand rows instead of grouping 400,000 results; a viewer who may also see private
    results for the compared models is answered exactly from `result_rollups` instead.
    Unknown SoC and RAM are stored as '' and -1 so the unique key matches them.
    """

    __tablename__ = "result_group_rollups"
    __table_args__ = (
        UniqueConstraint(
            "model_id",
            "delegate",
            "soc_name",
            "soc_known",
            "ram_gb",
            "is_virtual",
            name="uq_result_group_rollups_key",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    delegate: Mapped[str] = mapped_column(String(16))
    soc_name: Mapped[str] = mapped_column(String(128))
    soc_known: Mapped[bool] = mapped_column(Boolean)
    ram_gb: Mapped[float] = mapped_column(Float)
    is_virtual: Mapped[bool] = mapped_column(Boolean)
    phones: Mapped[int] = mapped_column(default=0)
    sum_phone_avg_us: Mapped[float] = mapped_column(Float, default=0.0)
    last_job_id: Mapped[int] = mapped_column(default=0)
