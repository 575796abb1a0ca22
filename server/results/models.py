"""One result per succeeded run (run_id is unique: a redelivered task cannot add a second).

Job, model, device and delegate are copied from the run so the leaderboard and
comparison pages aggregate over one indexed table instead of joining four.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String
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
    p90_us: Mapped[float | None] = mapped_column(Float)
    cv: Mapped[float | None] = mapped_column(Float)
    ci95_low_us: Mapped[float | None] = mapped_column(Float)
    ci95_high_us: Mapped[float | None] = mapped_column(Float)
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
    "p90_us",
    "cv",
    "ci95_low_us",
    "ci95_high_us",
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
