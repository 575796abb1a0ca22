"""The agent's, worker's and CLI's way to the farm server: REST with a bearer token, nothing else.

Agents never touch the database, so a farm host needs only the server's URL and a token.
The transport is the one the notebook client uses (contracts/farm_http.py): an error the
farm answers is an `ApiError` (the same class as `phonefarm.FarmError`) with a one-line
message; an API that does not answer is its `FarmUnreachable` subclass.
"""

from __future__ import annotations

from contracts.farm_http import FarmError, FarmHttp, FarmUnreachable, resolve_token
from contracts.settings import Settings, get_settings

ApiError = FarmError
"""The name the farm's processes catch: `.status` and `.detail` (0 and the reason when nothing answered)."""

__all__ = ["ApiError", "FarmApi", "FarmUnreachable"]


class FarmApi(FarmHttp):
    """The farm this process's settings name (FARM_API_URL), with its token (FARM_TOKEN or the token file)."""

    def __init__(self, settings: Settings | None = None, timeout: float = 30.0) -> None:
        self.settings = settings or get_settings()
        super().__init__(self.settings.api_url, resolve_token(self.settings), timeout)
