"""Token issue and check. Tokens are random secrets; the database keeps only their hash."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contracts.vocabulary import ROLE_RANK, Role
from server.auth.models import ApiToken


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    host: str | None = None  # an agent token bound to one farm host speaks only for it

    def at_least(self, role: Role) -> bool:
        if self.role == Role.agent or role == Role.agent:
            return self.role in (role, Role.admin)
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    def speaks_for(self, host: str) -> bool:
        """May this caller report phones of `host` and consume its runs? Admins and unbound agents may."""
        return self.is_admin or self.host is None or self.host == host


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(db: Session, name: str, role: Role, host: str | None = None) -> str:
    """A new token; `host` binds an agent token to that farm host (only agent tokens take one)."""
    if host is not None and role != Role.agent:
        raise ValueError("only agent tokens are bound to a host")
    token = "pf_" + secrets.token_urlsafe(32)
    db.add(ApiToken(name=name, role=role.value, token_hash=hash_token(token), prefix=token[:10], host=host))
    db.flush()
    return token


def authenticate(db: Session, token: str) -> Principal | None:
    row = db.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token), ~ApiToken.revoked))
    return Principal(row.name, Role(row.role), row.host) if row else None


def has_tokens(db: Session) -> bool:
    return bool(db.scalar(select(func.count()).select_from(ApiToken)))


def list_tokens(db: Session) -> list[ApiToken]:
    return list(db.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke(db: Session, token_id: int) -> bool:
    row = db.get(ApiToken, token_id)
    if row is None:
        return False
    row.revoked = True
    return True
