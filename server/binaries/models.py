"""Registered benchmark_model binaries, content-addressed by sha256 like models."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, utcnow


class BenchmarkBinary(Base):
    __tablename__ = "benchmark_binaries"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    abi: Mapped[str] = mapped_column(String(32), index=True)
    flex: Mapped[bool] = mapped_column(default=False)
    size_bytes: Mapped[int]
    path: Mapped[str] = mapped_column(String(500))
    # filled by the capability probe (`--help`) the first time a phone runs it
    tool_version: Mapped[str | None] = mapped_column(String(64))
    flags: Mapped[list[str] | None] = mapped_column(default=None)
    probed_at: Mapped[datetime | None]
    source_url: Mapped[str | None] = mapped_column(String(500))
    added_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
