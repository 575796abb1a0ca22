"""The agent's and CLI's way to the farm server: REST with a bearer token, nothing else.

Agents never touch the database, so a farm host needs only the server's URL and a token.
"""

from __future__ import annotations

from typing import Any

import httpx

from contracts.settings import Settings, get_settings


class ApiError(RuntimeError):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


def token_from(settings: Settings) -> str:
    if settings.token:
        return settings.token
    saved = settings.data_dir / "admin.token"
    return saved.read_text().strip() if saved.exists() else ""


class FarmApi:
    def __init__(self, settings: Settings | None = None, timeout: float = 30.0) -> None:
        self.settings = settings or get_settings()
        token = token_from(self.settings)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(
            base_url=self.settings.api_url.rstrip("/") + "/api/v1", headers=headers, timeout=timeout
        )

    def request(self, method: str, path: str, **kw: Any) -> Any:
        resp = self.http.request(method, path, **kw)
        if resp.status_code >= 400:
            try:
                detail = resp.json().get("detail", resp.text)
            except ValueError:
                detail = resp.text
            raise ApiError(resp.status_code, str(detail))
        if resp.status_code == 204 or not resp.content:  # no body (FastAPI may still label it JSON)
            return None
        if resp.headers.get("content-type", "").startswith("application/json"):
            return resp.json()
        return resp.text

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)
