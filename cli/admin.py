"""Commands run on the server host against the database directly: API tokens.

They need the farm's database (FARM_DATABASE_URL, or the data dir `farm up` recorded in
the CLI config), not the API.
"""

from __future__ import annotations

import typer
from rich.table import Table

from cli.output import console, fail

token_app = typer.Typer(help="API tokens (admin).", no_args_is_help=True)


@token_app.command("create")
def token_create(
    role: str = typer.Option(..., help="viewer | submitter | admin | agent"),
    name: str = typer.Option("cli", help="The token's name (unique per user): what uses it"),
    user: str | None = typer.Option(
        None,
        help="Give this user another token (they share their models and benchmarks); "
        "without it a new user named after the token is created",
    ),
    host: str | None = typer.Option(
        None, help="Agent tokens: the farm host it speaks for (its phones and runs only)"
    ),
) -> None:
    """Create a token directly in the database (run on the server host)."""
    from contracts.vocabulary import Role
    from server.api.errors import ProblemError
    from server.auth.service import create_token
    from server.db import session_scope

    try:
        r = Role(role)
    except ValueError:
        fail(f"unknown role {role!r}: choose viewer, submitter, admin or agent")
    if host is not None and r != Role.agent:
        fail("--host binds agent tokens only: use it with --role agent")
    if r == Role.agent and host is None:
        fail("an agent token speaks for one farm host: add --host NAME (the host's FARM_HOST_NAME)")
    if host is not None:
        from server.devices.service import HOST_RE

        if not HOST_RE.match(host):
            fail(f"host name {host!r} may hold only letters, digits, '_', '.', '-'")
    try:
        with session_scope() as db:
            token = create_token(
                db, name if host is None or name != "cli" else f"agent {host}", r, host, user
            )
    except ProblemError as exc:  # user exists, token name taken: one line saying what to do
        fail(exc.detail)
    console.print(token)


@token_app.command("list")
def token_list() -> None:
    """Tokens by user, name and role (the secrets themselves are not stored)."""
    from server.auth.service import list_tokens
    from server.db import session_scope

    table = Table("id", "user", "name", "role", "host", "prefix", "revoked", "created")
    with session_scope() as db:
        for t in list_tokens(db):
            table.add_row(
                str(t.id),
                t.user.name,
                t.name,
                t.role,
                t.host or "",
                t.prefix + "…",
                "yes" if t.revoked else "",
                str(t.created_at),
            )
    console.print(table)


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke a token at once: every request with it gets 401 from now on."""
    from server.auth.service import revoke
    from server.db import session_scope

    with session_scope() as db:
        if not revoke(db, token_id):
            fail(f"no token with id {token_id}")
    console.print(f"token {token_id} revoked")


def register(app: typer.Typer) -> None:
    app.add_typer(token_app, name="token")
