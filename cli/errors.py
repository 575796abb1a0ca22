"""Every failure of a `farm` command as one or two lines: what happened, then what to do.

`FarmGroup` wraps the whole command tree, so a new command gets this for free; `--debug`
(or FARM_DEBUG=1) lets the original exception and its traceback through instead.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from cli.output import CliError, report
from contracts.farm_config import config_path
from phonefarm.errors import FarmError, FarmUnreachable

# typer vendors click (typer._click) in recent releases; take its classes from typer itself
UsageError: type[Exception] = typer.BadParameter.__mro__[1]
PASS_THROUGH = (typer.Exit, typer.Abort, KeyboardInterrupt, SystemExit)

STATUS_HINTS = {
    401: "give a token: FARM_TOKEN=..., or run where `farm up` recorded its token in {config}",
    403: "this needs a token with a higher role (admin for phones, submitter for benchmarks); "
    "an admin makes one with `farm token create --role ROLE` on the server host",
    404: "check the id: `farm devices` lists phones; the dashboard's Jobs page lists benchmarks",
    413: "the file is larger than the farm accepts (FARM_MAX_UPLOAD_MB on the server)",
}


def explain(exc: BaseException) -> CliError | None:
    """A CliError for failures a user can act on; None for what is not an error at all."""
    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, FarmUnreachable):
        return CliError(
            exc.detail,
            "start it with `farm up`, or point the CLI at it: FARM_API_URL=http://HOST:PORT "
            f"(`farm up` records its URL in {config_path()})",
        )
    if isinstance(exc, FarmError):
        hint = STATUS_HINTS.get(exc.status, "").format(config=config_path())
        if exc.title == "Unknown model":
            hint = "give a .tflite file, or a model the farm has: id, sha256 prefix, name or zoo name"
        if exc.available_socs:
            hint = "available SoCs: " + ", ".join(exc.available_socs)
        return CliError(exc.detail, hint)
    if isinstance(exc, UsageError):
        ctx = getattr(exc, "ctx", None)
        path = ctx.command_path if ctx is not None else "farm"
        message = exc.format_message()  # type: ignore[attr-defined]
        return CliError(message, f"see `{path} --help`", code=int(getattr(exc, "exit_code", 2)))
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] in (
        "tensorflow",
        "keras",
        "tf_keras",
    ):
        return CliError(
            f"this command needs TensorFlow ({exc.name} is not installed)",
            "install the zoo extra: pip install -e '.[zoo]'",
        )
    name = type(exc).__name__
    if name in ("OperationalError", "ProgrammingError") and type(exc).__module__.startswith("sqlalchemy"):
        from contracts.settings import get_settings

        url = get_settings().sqlalchemy_url
        return CliError(
            f"cannot use the farm database at {url} ({str(getattr(exc, 'orig', exc)).splitlines()[0]})",
            "run this on the farm's server host after `farm up` (it records its data dir in "
            f"{config_path()}), or set FARM_DATA_DIR / FARM_DATABASE_URL; `farm migrate` creates the schema",
        )
    if isinstance(exc, subprocess.CalledProcessError):
        command = " ".join(Path(str(a)).name if i == 0 else str(a) for i, a in enumerate(exc.cmd))
        said = (exc.stderr or exc.stdout or b"").strip()
        said = said.decode(errors="replace") if isinstance(said, bytes) else str(said)
        return CliError(
            f"`{command}` failed with exit status {exc.returncode}"
            + (f": {said.splitlines()[-1]}" if said else ""),
            "rerun with --debug for the traceback",
        )
    if isinstance(exc, OSError) and getattr(exc, "filename", None):
        return CliError(f"{exc.strerror or name}: {exc.filename}")
    if isinstance(exc, TimeoutError):
        return CliError(str(exc))
    return CliError(f"unexpected {name}: {exc}", "rerun with --debug for the traceback")


class FarmGroup(TyperGroup):
    """The root command: turns exceptions from any sub-command into messages."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except PASS_THROUGH:
            raise
        except Exception as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":
                raise
            if debug_requested(ctx):
                raise
            err = explain(exc)
            if err is None:
                raise
            report(err)
            raise typer.Exit(err.code) from None


def debug_requested(ctx: Any) -> bool:
    return bool(ctx.params.get("debug")) or os.environ.get("FARM_DEBUG", "") not in ("", "0")
