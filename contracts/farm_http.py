"""One way to call a farm's REST API: a bearer token, `/api/v1`, problem+json errors as exceptions.

The notebook client (`phonefarm.Farm`) and the farm's own processes (`device_agent.api_client.FarmApi`:
the agent, the worker, the CLI's admin commands) speak the same API the same way. Both build on
`FarmHttp`, here because contracts is the one layer both may import (import-linter: phonefarm
imports contracts only). An error the farm answers is a `FarmError` whose message is one line
(RFC 9457 title and detail); nothing answering is `FarmUnreachable`; never a bare httpx error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import httpx

from contracts.settings import Settings

DETAIL_LIMIT = 300


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


def resolve_token(settings: Settings) -> str:
    """FARM_TOKEN, else the token file (FARM_TOKEN_FILE or the one `farm up` recorded), else none."""
    if settings.token:
        return settings.token
    for path in (settings.token_file, settings.data_dir / "admin.token"):
        if path is not None:
            try:
                return Path(path).expanduser().read_text().strip()
            except OSError:
                continue
    return ""


def _one_line(text: str) -> str:
    return " ".join(text.split())[:DETAIL_LIMIT]


def problem(resp: httpx.Response) -> FarmError:
    """The error a response says, in one line: problem+json's title and detail, else its text."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return FarmError(resp.status_code, resp.reason_phrase, _one_line(resp.text) or resp.reason_phrase)
    extra = {k: v for k, v in body.items() if k not in ("type", "title", "status", "detail")}
    detail = body.get("detail")
    text = _one_line(detail if isinstance(detail, str) else str(detail)) if detail is not None else ""
    return FarmError(
        resp.status_code, str(body.get("title") or resp.reason_phrase), text or resp.reason_phrase, extra
    )


class FarmHttp:
    """A farm's `/api/v1` with a token; `request` returns the JSON (or text) or raises a FarmError."""

    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=self.url + "/api/v1", headers=headers, timeout=timeout)

    def send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """One call; the response when it succeeded (for its status or headers)."""
        try:
            resp = self.http.request(method, path, **kw)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise FarmUnreachable(self.url, type(exc).__name__) from exc
        except httpx.TransportError as exc:
            raise FarmUnreachable(self.url, f"{type(exc).__name__}: {exc}") from exc
        if resp.status_code >= 400:
            raise problem(resp)
        return resp

    def request(self, method: str, path: str, **kw: Any) -> Any:
        """One call's body: JSON decoded, None when there is none (204), else the text."""
        resp = self.send(method, path, **kw)
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

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
