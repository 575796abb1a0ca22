"""docker-compose.yml is checked without a Docker engine: schema-valid, and every command is one we accept."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import jsonschema
import pytest
import typer
import yaml

from cli.main import app

ROOT = Path(__file__).resolve().parents[2]
# The Compose Specification's JSON schema (compose_spec.json as shipped by docker-compose 1.29.2).
SCHEMA = json.loads((ROOT / "tests" / "data" / "compose_spec.json").read_text())
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _validate(doc: object) -> None:
    jsonschema.Draft201909Validator(SCHEMA).validate(doc)


def test_compose_file_matches_the_compose_specification() -> None:
    _validate(COMPOSE)


def test_schema_check_is_not_vacuous() -> None:
    broken = json.loads(json.dumps(COMPOSE))
    broken["services"]["api"]["healthcheck"]["retries"] = "many"
    with pytest.raises(jsonschema.ValidationError):
        _validate(broken)


def _parse_farm(args: list[str]) -> object:
    """Parse like the CLI would, without running the command (Typer vendors its own click)."""
    group = typer.main.get_command(app)
    ctx = group.make_context("farm", list(args), resilient_parsing=False)
    name, cmd, rest = group.resolve_command(ctx, list(args))  # type: ignore[attr-defined]
    assert cmd is not None, f"farm has no command {args[0]!r}"
    return cmd.make_context(name or "", rest, parent=ctx)


@pytest.mark.parametrize("service", sorted(COMPOSE["services"]))
def test_each_service_command_is_accepted(service: str) -> None:
    spec = COMPOSE["services"][service]
    command = spec.get("command")
    if spec.get("image", "").startswith("phonefarm") or spec.get("build"):
        assert command, f"{service} must say which role it runs"
    if not command or command[0] not in ("farm", "celery"):
        return
    if command[0] == "farm":
        _parse_farm(command[1:])
    else:
        module, _, attr = command[command.index("-A") + 1].partition(":")
        assert getattr(importlib.import_module(module), attr or "app")


def test_an_unknown_farm_command_is_refused() -> None:
    with pytest.raises(Exception, match="No such option"):
        _parse_farm(["api", "--no-such-flag"])
