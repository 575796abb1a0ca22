"""The `farm` command: registers the command modules and turns failures into messages.

Commands live in rooms of one kind each: cli/serving.py (processes), cli/client.py (the
REST API, through the notebook client `phonefarm.Farm`), cli/admin.py (the database
directly). A new command module adds one `register(app)` line below. Errors of every
command become one or two lines (cli/errors.py); `farm --debug ...` shows tracebacks.
"""

from __future__ import annotations

import typer

from cli import admin, client, serving
from cli.errors import FarmGroup

app = typer.Typer(
    cls=FarmGroup,
    help="PhoneFarm: benchmark TFLite models on a farm of Android phones.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks instead of one-line errors"),
) -> None:
    """PhoneFarm: benchmark TFLite models on a farm of Android phones."""


def _register_binary_commands(root: typer.Typer) -> None:
    from cli.binary import app as binary_app
    from cli.doctor import doctor

    root.add_typer(binary_app, name="binary")
    root.command()(doctor)


def _register_infer(root: typer.Typer) -> None:
    from cli.infer import infer

    root.command(name="infer")(infer)


serving.register(app)
client.register(app)
admin.register(app)
_register_binary_commands(app)
_register_infer(app)


def _mount_models() -> None:
    try:
        from models.cli import app as models_app
    except ImportError:  # the zoo commands need the optional [zoo] extra only for `build`
        return
    app.add_typer(models_app, name="models", help="The model zoo: build, evaluate, publish.")


_mount_models()


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
