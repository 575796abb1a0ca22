"""Shared request-model base: text with NUL characters is refused at the edge.

PostgreSQL text columns cannot hold NUL; without this check such input would pass
validation and fail deep inside a query as a 500 (the schemathesis run found it).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, model_validator


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class RequestModel(BaseModel):
    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if _has_nul(data):
            raise ValueError("text must not contain NUL characters")
        return data


NO_NUL = r"^[^\x00]*$"
