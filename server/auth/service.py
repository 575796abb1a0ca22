"""Users, token issue and check. Tokens are random secrets; the database keeps only their hash.

Everything a caller owns is keyed on their user id (`Principal.user_id`), never on a token's
name: token names are labels, unique per user, and two users may pick the same one.
"""

from __future__ import annotations

import hashlib
import secrets
import shlex
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contracts.vocabulary import ROLE_RANK, Role
from server.api.errors import ProblemError
from server.auth.models import ApiToken, User

NAME_LIMIT = 128


@dataclass(frozen=True)
class Principal:
    name: str  # the user's name: shown (owner, submitter, "cancelled by"), never compared for access
    role: Role
    host: str | None = None  # an agent token bound to one farm host speaks only for it
    user_id: int | None = None  # None: the anonymous reader, who owns nothing

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

    def owns(self, owner_id: int | None) -> bool:
        """Is a row with this owner id the caller's? Farm rows (NULL) belong to nobody, not to anonymous."""
        return self.user_id is not None and owner_id == self.user_id

    def mine(self, owner_id: Any) -> ColumnElement[bool]:
        """`owns` as SQL for an owner-id column (`owner_id = NULL` would match nothing, but say so)."""
        return owner_id == self.user_id if self.user_id is not None else false()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_name(what: str, name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_LIMIT or any(ord(c) < 32 for c in name):
        raise ProblemError(
            422, f"Invalid {what} name", f"A {what} name is 1-{NAME_LIMIT} printable characters."
        )
    return name


def user_named(db: Session, name: str) -> User | None:
    return db.scalar(select(User).where(User.name == name))


def _get_or_create_user(db: Session, name: str) -> User:
    user = user_named(db, name)
    if user is not None:
        return user
    user = User(name=name)
    try:
        with db.begin_nested():  # two creations of one new user at once: the loser reads the winner's row
            db.add(user)
    except IntegrityError:
        again = user_named(db, name)
        if again is None:
            raise
        return again
    return user


def create_token(db: Session, name: str, role: Role, host: str | None = None, user: str | None = None) -> str:
    """A new token named `name` for `user`; `host` binds an agent token to that farm host.

    Without `user` the token is a new user's first, and the user is named after it; if that
    user exists already it is refused (409), so nobody gets another person's work by picking
    a token name. With `user`, the user (created if new) gets another token; its token names
    are unique (409 on a repeat).
    """
    if host is not None and role != Role.agent:
        raise ValueError("only agent tokens are bound to a host")
    name = _check_name("token", name)
    if user is None:
        if user_named(db, name) is not None:
            raise ProblemError(
                409,
                "User exists",
                f"user {name} exists; pass --user {shlex.quote(name)} to give them another token",
                user=name,
            )
        owner = _get_or_create_user(db, name)
    else:
        owner = _get_or_create_user(db, _check_name("user", user))
    taken = db.scalar(select(ApiToken.id).where(ApiToken.user_id == owner.id, ApiToken.name == name))
    if taken is not None:
        raise _name_taken(owner.name, name)
    token = "pf_" + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=owner.id,
        name=name,
        role=role.value,
        token_hash=hash_token(token),
        prefix=token[:10],
        host=host,
    )
    try:
        with db.begin_nested():
            db.add(row)
    except IntegrityError as exc:  # the same name for the same user, created at the same moment
        raise _name_taken(owner.name, name) from exc
    return token


def _name_taken(user: str, name: str) -> ProblemError:
    return ProblemError(
        409,
        "Token name taken",
        f"user {user} already has a token named {name}; pick another name (or revoke and rename it)",
        user=user,
        name=name,
    )


def free_token_name(db: Session, user: str, base: str) -> str:
    """`base`, or `base 2`, `base 3`…: the first name `user` holds no token by (for automatic tokens)."""
    owner = user_named(db, user)
    if owner is None:
        return base
    taken = set(db.scalars(select(ApiToken.name).where(ApiToken.user_id == owner.id)))
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base} {n}"
    return name


def select_token(token: str) -> Select[ApiToken]:
    return select(ApiToken).where(ApiToken.token_hash == hash_token(token), ~ApiToken.revoked)


def authenticate(db: Session, token: str) -> Principal | None:
    row = db.scalar(select_token(token))
    return Principal(row.user.name, Role(row.role), row.host, row.user_id) if row else None


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
