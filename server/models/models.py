"""Uploaded TFLite models, content-addressed by sha256 so the same bytes are one model."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.auth.models import User
from server.db import Base, utcnow


class Model(Base):
    __tablename__ = "models"
    # the same bytes from two owners are two records sharing one stored file
    __table_args__ = (UniqueConstraint("sha256", "owner_id", name="uq_models_sha256_owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    size_bytes: Mapped[int]
    inputs: Mapped[list[Any]] = mapped_column(default=list)
    outputs: Mapped[list[Any]] = mapped_column(default=list)
    operators: Mapped[list[str]] = mapped_column(default=list)
    path: Mapped[str] = mapped_column(String(500))
    # the uploading user (NULL: the farm's own, e.g. the zoo); access is keyed on this id
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    public: Mapped[bool] = mapped_column(default=True)
    zoo_name: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner_user: Mapped[User | None] = relationship()

    @property
    def owner(self) -> str | None:
        """The owner's user name, as the API shows it (`owner` in ModelOut)."""
        return self.owner_user.name if self.owner_user else None
