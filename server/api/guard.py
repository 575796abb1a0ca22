"""The API's front door: bodies counted as they stream, tokens checked before any body is read,
security headers on every answer.

Why a pure ASGI middleware and not `Content-Length` checks: a chunked body has no length,
and one of 400 MB without a token grew the API from 344 MB to 1.9 GB before it answered
401 (FastAPI parses the body before it runs the dependency that checks the token). So:
- a write request (POST/PUT/PATCH/DELETE under /api/) whose token is missing or unknown is
  answered 401 before a byte of its body is read; the caller found is kept in the request's
  state (`PRINCIPAL_STATE`) so the endpoint's `get_principal` doesn't look the token up again
  (one query and one pooled connection per write request fewer: a run makes 3 such requests);
- every body is counted as it arrives and cut off at the limit (1 MiB for JSON, the model
  limit plus 1 MiB for multipart uploads) with a 413, chunked or not;
- every response carries CSP, X-Frame-Options, nosniff and Referrer-Policy.
Connection limits and read timeouts belong to the server (uvicorn flags in cli/) and the
reverse proxy (deploy/nginx.conf).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from anyio import to_thread
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.settings import get_settings
from server.api import errors

if TYPE_CHECKING:
    from server.auth.service import Principal

JSON_LIMIT = 1 << 20
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        b"form-action 'self'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class BodyTooLarge(HTTPException):
    """Raised from `receive` when the body passes its limit; FastAPI re-raises HTTPExceptions."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit >> 20} MiB.")


def body_limit(headers: dict[bytes, bytes]) -> int:
    multipart = headers.get(b"content-type", b"").startswith(b"multipart/")
    return ((get_settings().max_upload_mb << 20) + (1 << 20)) if multipart else JSON_LIMIT


PRINCIPAL_STATE = "principal"
"""Key of (authorization header, Principal) in the ASGI scope's state, for `deps.get_principal`."""


def _principal(authorization: bytes) -> Principal | None:
    from server.auth.service import authenticate
    from server.db import session_scope

    text = authorization.decode("latin-1")
    if not text.lower().startswith("bearer "):
        return None
    with session_scope() as db:
        return authenticate(db, text[7:].strip())


class RequestGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        started = False
        has_body = headers.get(b"content-length", b"0") not in (b"", b"0") or b"transfer-encoding" in headers
        body_done = not has_body

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                extra = list(SECURITY_HEADERS)
                if not body_done:  # answered before the body was read: close, or the server drains it
                    extra.append((b"connection", b"close"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        limit = body_limit(headers)
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await errors.problem_response(
                413, "Request too large", f"The request body is larger than {limit >> 20} MiB."
            )(scope, receive, send_with_headers)
            return
        if scope["method"] in WRITE_METHODS and scope["path"].startswith("/api/"):
            auth = headers.get(b"authorization", b"")
            principal = await to_thread.run_sync(_principal, auth) if auth else None
            if principal is None:
                await errors.problem_response(
                    401,
                    "Unauthorized",
                    "This endpoint needs a valid API token: send 'Authorization: Bearer <token>' "
                    "(create one with 'farm token create --role submitter').",
                )(scope, receive, send_with_headers)
                return
            scope.setdefault("state", {})[PRINCIPAL_STATE] = (auth.decode("latin-1"), principal)
        received = 0

        async def counted_receive() -> Message:
            nonlocal received, body_done
            message = await receive()
            if message["type"] == "http.request":
                body_done = not message.get("more_body", False)
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, counted_receive, send_with_headers)
        except BodyTooLarge as exc:  # read outside FastAPI's body parsing (a raw Request.stream())
            if started:
                raise
            await errors.problem_response(413, "Request too large", str(exc.detail))(
                scope, receive, send_with_headers
            )
