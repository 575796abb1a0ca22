"""What the binaries API returns."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class BinaryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sha256: str
    abi: str
    flex: bool
    size_bytes: int
    tool_version: str | None
    flags: list[str] | None
    probed_at: datetime | None
    source_url: str | None
    added_by: str | None
    created_at: datetime
