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
    name: str = typer.Option("cli", help="Who or what uses it"),
) -> None:
    """Create a token directly in the database (run on the server host)."""
    from contracts.vocabulary import Role
    from server.auth.service import create_token
    from server.db import session_scope

    try:
        r = Role(role)
    except ValueError:
        fail(f"unknown role {role!r}: choose viewer, submitter, admin or agent")
    with session_scope() as db:
        token = create_token(db, name, r)
    console.print(token)


@token_app.command("list")
def token_list() -> None:
    """Tokens by name and role (the secrets themselves are not stored)."""
    from server.auth.service import list_tokens
    from server.db import session_scope

    table = Table("id", "name", "role", "prefix", "revoked", "created")
    with session_scope() as db:
        for t in list_tokens(db):
            table.add_row(
                str(t.id), t.name, t.role, t.prefix + "…", "yes" if t.revoked else "", str(t.created_at)
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
