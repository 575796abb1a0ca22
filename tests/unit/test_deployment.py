"""The compose files are checked without a Docker engine: schema-valid, every command one we
accept, no default passwords, and a farm host that needs no database."""

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
HOST = yaml.safe_load((ROOT / "docker-compose.host.yml").read_text())
FILES = {"server": COMPOSE, "host": HOST}


def _validate(doc: object) -> None:
    jsonschema.Draft201909Validator(SCHEMA).validate(doc)


@pytest.mark.parametrize("which", sorted(FILES))
def test_compose_file_matches_the_compose_specification(which: str) -> None:
    _validate(FILES[which])


def _env_text(doc: dict[str, object]) -> str:
    return json.dumps(doc)


def test_no_password_has_a_default() -> None:
    text = _env_text(COMPOSE)
    for secret in ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "FLOWER_BASIC_AUTH"):
        assert "${" + secret + ":?" in text, f"{secret} must come from .env, with no default"
        assert "${" + secret + ":-" not in text and "${" + secret + "}" not in text
    assert "ports" not in COMPOSE["services"]["postgres"]
    assert "--basic-auth" in " ".join(COMPOSE["services"]["flower"]["command"])


def test_a_farm_host_needs_no_database_and_publishes_nothing() -> None:
    text = _env_text(HOST)
    assert "DATABASE" not in text and "postgres" not in text.lower()
    for key in ("FARM_API_URL", "FARM_BROKER_URL", "FARM_TOKEN", "FARM_HOST_NAME"):
        assert "${" + key + ":?" in text
    assert all("ports" not in s for s in HOST["services"].values())
    assert "/dev/bus/usb:/dev/bus/usb" in HOST["services"]["agent"]["devices"]


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


@pytest.mark.parametrize(
    "service", [(f, s) for f in sorted(FILES) for s in sorted(FILES[f]["services"])], ids=str
)
def test_each_service_command_is_accepted(service: tuple[str, str]) -> None:
    spec = FILES[service[0]]["services"][service[1]]
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


def test_the_image_copies_every_package_the_project_installs() -> None:
    """`pip install .` in the image finds only what was copied: a package left out (the `phonefarm`
    client the CLI imports, once) installs silently and the image's `farm` fails at import."""
    import tomllib

    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"][
        "include"
    ]
    packages = {pattern.rstrip("*") for pattern in include}
    copied = {
        line.split()[1]
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ") and len(line.split()) == 3
    }
    assert packages <= copied, f"not copied into the image: {sorted(packages - copied)}"
