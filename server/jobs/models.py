"""Benchmark jobs and their runs: the database is the source of truth for job state.

A run is one (job × device × delegate × threads) measurement. The broker only carries
run ids; whatever a message says, the worker re-reads the run here before acting.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from contracts.vocabulary import JobState, RunState
from server.auth.models import User
from server.db import Base, utcnow


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), index=True)
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), default=JobState.queued, index=True)
    # the submitting user (NULL: the farm's own); visibility, quotas and fairness key on this id
    submitter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    public: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    runs: Mapped[list[Run]] = relationship(back_populates="job", order_by="Run.id")
    submitter_user: Mapped[User | None] = relationship()

    @property
    def submitter(self) -> str | None:
        """The submitter's user name, as the API and the pages show it."""
        return self.submitter_user.name if self.submitter_user else None


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_state_queued_at", "state", "queued_at"),
        Index("ix_runs_device_started", "device_id", "started_at"),  # a phone's latest runs (next_run)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    original_device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    delegate: Mapped[str] = mapped_column(String(16))
    threads: Mapped[int]
    state: Mapped[str] = mapped_column(String(16), default=RunState.queued)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # head and tail of the tool's output (contracts.output.bound): deferred, so lists and job views
    # never load it; served on its own endpoint
    raw_output: Mapped[str | None] = deferred(mapped_column(Text))
    output_bytes: Mapped[int | None] = mapped_column(BigInteger)  # size of the whole output
    failure_kind: Mapped[str | None] = mapped_column(String(32))  # contracts.failures.kind_of
    blame: Mapped[str | None] = mapped_column(String(32))  # contracts.vocabulary.FailureCause
    command: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(200))

    job: Mapped[Job] = relationship(back_populates="runs")
