"""What the `farm` command prints, and how it stops: one console, one way to fail.

Every command ends an error the same way (`fail`): a line saying what happened, an
optional line saying what to do, and a non-zero exit. Tracebacks are for `--debug`.
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
err_console = Console(stderr=True)


class CliError(Exception):
    """A user-facing failure: what happened, and (optionally) what to do about it."""

    def __init__(self, message: str, hint: str = "", code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code


def fail(message: str, hint: str = "", code: int = 1) -> NoReturn:
    raise CliError(message, hint, code)


def report(exc: CliError) -> None:
    err_console.print(f"[red]error:[/red] {escape(exc.message)}", highlight=False, soft_wrap=True)
    if exc.hint:
        err_console.print(f"  {escape(exc.hint)}", highlight=False, soft_wrap=True)


def setup_logging(level: str | None = None) -> None:
    from contracts.logs import setup

    setup(level)


def exit_code(code: int) -> NoReturn:
    raise typer.Exit(code)
