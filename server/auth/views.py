"""REST routes for API tokens (admins): the same rules as `farm token create`/`list`."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from contracts.vocabulary import Role
from server.api.deps import DB, Admin
from server.api.errors import ProblemError
from server.api.routing import UnitOfWorkRoute
from server.auth import service
from server.auth.models import ApiToken
from server.devices.service import HOST_RE

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/tokens", tags=["tokens"])
NAME = r"^[^\x00-\x1f]+$"


class TokenIn(BaseModel):
    name: str = Field(
        min_length=1, max_length=128, pattern=NAME, description="Unique among the user's tokens"
    )
    role: Role
    user: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        pattern=NAME,
        description="Give this user another token; without it a new user named after the token is created",
    )
    host: str | None = Field(None, max_length=128, description="Agent tokens: the farm host it speaks for")


class TokenOut(BaseModel):
    id: int
    user: str
    name: str
    role: Role
    host: str | None
    prefix: str
    revoked: bool
    created_at: datetime


class TokenCreated(TokenOut):
    token: str = Field(description="The secret: shown once, only its hash is kept")


def _out(row: ApiToken) -> TokenOut:
    return TokenOut(
        id=row.id,
        user=row.user.name,
        name=row.name,
        role=Role(row.role),
        host=row.host,
        prefix=row.prefix,
        revoked=row.revoked,
        created_at=row.created_at,
    )


@router.get("", response_model=list[TokenOut], summary="Tokens with their users (never the secrets)")
def list_tokens(db: DB, principal: Admin) -> list[TokenOut]:
    return [_out(t) for t in service.list_tokens(db)]


@router.post(
    "",
    response_model=TokenCreated,
    status_code=201,
    responses={409: {"description": "The user exists (pass `user`), or already has a token of this name"}},
    summary="Create a token for a new user, or another one for `user`",
)
def create_token(db: DB, principal: Admin, body: TokenIn) -> TokenCreated:
    if body.host is not None and body.role != Role.agent:
        raise ProblemError(422, "Invalid token", "host binds agent tokens only: use it with role agent.")
    if body.role == Role.agent and (body.host is None or not HOST_RE.match(body.host)):
        raise ProblemError(
            422,
            "Invalid token",
            "An agent token speaks for one farm host: give host (letters, digits, _ . -).",
        )
    secret = service.create_token(db, body.name, body.role, body.host, body.user)
    row = db.scalar(service.select_token(secret))
    assert row is not None
    return TokenCreated(**_out(row).model_dump(), token=secret)
