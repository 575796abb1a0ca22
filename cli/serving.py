"""Commands that run farm processes: the API, a worker, an agent, virtual phones, or all at once.

These are long-running servers; process launching for `farm up` lives in cli/up.py.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import typer

from cli.output import console, fail, setup_logging
from contracts.settings import get_settings


def migrate() -> None:
    """Create or upgrade the database schema (Alembic)."""
    from server.migrate import upgrade

    upgrade()
    console.print(f"database at head: {get_settings().sqlalchemy_url}")


def api(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on"),
    port: int = typer.Option(8000),
    no_migrate: bool = typer.Option(False, help="Skip applying migrations at start"),
) -> None:
    """Run the REST API and dashboard."""
    import uvicorn

    if not no_migrate:
        migrate()
    from server.serving import options  # connection cap, keep-alive and header limits

    uvicorn.run("server.main:app", host=host, port=port, log_level="info", **options())


def worker(
    concurrency: int = typer.Option(8, help="Runs executed at once on this host (one per phone at most)"),
    queue: str | None = typer.Option(None, help="Queue to consume (default: host.<FARM_HOST_NAME>)"),
) -> None:
    """Run a Celery worker for this farm host's phones."""
    from contracts.vocabulary import host_queue
    from worker.celery_app import celery_app

    q = queue or host_queue(get_settings().host_name)
    setup_logging()
    # the banner and the root-user SecurityWarning are noise in `farm up`'s terminal
    warnings.filterwarnings("ignore", message=".*superuser privileges.*")
    celery_app.worker_main(
        [
            "--quiet",
            "worker",
            "-Q",
            q,
            "-P",
            "threads",
            "-c",
            str(concurrency),
            "-l",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{q}@%h",
        ]
    )


def agent() -> None:
    """Follow this host's adb server and keep the farm's list of phones true."""
    from device_agent.agent import Agent

    setup_logging()
    Agent().run()


def _fault_help() -> str:
    from device_agent.virtual.fault_flags import help_text

    return help_text()


def phone(
    profile: str | None = typer.Option(
        None, help="Profile id, e.g. sdm845 (see device_agent/virtual/profiles)"
    ),
    port: int = typer.Option(5555, help="TCP port (first of consecutive ports with --all)"),
    all_profiles: bool = typer.Option(False, "--all", help="One phone per profile on consecutive ports"),
    auth_key: Path | None = typer.Option(None, help="Require AUTH; allow this adbkey.pub"),
    timing: str = typer.Option(
        "host",
        help="host: real host timings; profile: scaled by the phone's profile; "
        "sim: from the profile's cost model, heat and seeded noise (independent of host load)",
    ),
    adb_port: int | None = typer.Option(
        None, help="Also `adb connect` each phone to the adb server on this port"
    ),
    as_real: bool = typer.Option(
        False, "--as-real", help="Look like real phones: no ro.phonefarm.* props, runs registered binaries"
    ),
    fault: list[str] = typer.Option([], "--fault", help="NAME=VALUE, repeatable. Names: " + _fault_help()),
) -> None:
    """Run virtual phones that speak real ADB (for demos and tests)."""
    from device_agent.virtual.fault_flags import parse_faults
    from device_agent.virtual.fleet import main_phone

    setup_logging()
    if not profile and not all_profiles:
        fail("give --profile NAME or --all")
    if timing not in ("host", "profile", "sim"):
        fail("--timing is host, profile or sim")
    try:
        faults = parse_faults(fault)
    except ValueError as exc:
        fail(str(exc))
    main_phone(
        profile=profile,
        port=port,
        all_profiles=all_profiles,
        auth_key=auth_key,
        timing_mode=timing,
        adb_port=adb_port,
        as_real=as_real,
        faults=faults if fault else None,
    )


def attach(address: str = typer.Argument(..., help="HOST:PORT of a phone with adb over TCP")) -> None:
    """Attach a network phone (adb connect); the agent registers it."""
    from device_agent.agent import attach as do_attach

    console.print(do_attach(address))


def up(
    port: int = typer.Option(8000, help="API and dashboard port"),
    virtual: int | None = typer.Option(
        None, help="Start N virtual phones (default: all profiles when no real phone is attached)"
    ),
    concurrency: int = typer.Option(8, help="Worker threads"),
    timing: str = typer.Option("host", help="Virtual phones' timing: host, profile or sim"),
) -> None:
    """Everything on one machine: migrations, API, a worker, an agent, and virtual phones if needed."""
    from cli.up import run_all

    setup_logging()
    if timing not in ("host", "profile", "sim"):
        fail("--timing is host, profile or sim")
    run_all(port=port, virtual=virtual, concurrency=concurrency, timing=timing)


def register(app: typer.Typer) -> None:
    for command in (migrate, api, worker, agent, phone, attach, up):
        app.command()(command)
