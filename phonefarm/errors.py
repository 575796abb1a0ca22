"""What can go wrong talking to a farm, as exceptions a notebook or the CLI can explain."""

from __future__ import annotations

from typing import Any


class FarmError(Exception):
    """The farm answered with an error (RFC 9457 problem+json): status, title, detail, extras."""

    def __init__(self, status: int, title: str, detail: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.extra = extra or {}

    @property
    def available_socs(self) -> list[str]:
        """SoC names the farm can run on now, when the farm said (a selector matched nothing)."""
        return [str(s) for s in self.extra.get("available_socs") or []]


class FarmUnreachable(FarmError):
    """Nothing answered at the farm's URL (not started, another port, another host)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(0, "Farm unreachable", f"cannot reach the farm at {url} ({reason})")
        self.url = url
