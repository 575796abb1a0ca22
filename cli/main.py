"""The `farm` command: thin wrappers over the same services the REST API uses."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from contracts.settings import get_settings

app = typer.Typer(
    help="PhoneFarm: benchmark TFLite models on a farm of Android phones.", no_args_is_help=True
)
device_app = typer.Typer(help="Operate on one phone (admin).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (admin).", no_args_is_help=True)
app.add_typer(device_app, name="device")
app.add_typer(token_app, name="token")
console = Console()


def _setup_logging(level: str = "INFO") -> None:
    from contracts.logs import setup

    setup(level)


def _api() -> Any:
    from device_agent.api_client import FarmApi

    return FarmApi()


def _fail(msg: str, code: int = 1) -> None:
    console.print(f"[red]error:[/red] {msg}")
    raise typer.Exit(code)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (Alembic)."""
    from server.migrate import upgrade

    upgrade()
    console.print(f"database at head: {get_settings().sqlalchemy_url}")


@app.command()
def api(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on"),
    port: int = typer.Option(8000),
    no_migrate: bool = typer.Option(False, help="Skip applying migrations at start"),
) -> None:
    """Run the REST API and dashboard."""
    import uvicorn

    if not no_migrate:
        migrate()
    uvicorn.run("server.main:app", host=host, port=port, log_level="info")


@app.command()
def worker(
    concurrency: int = typer.Option(8, help="Runs executed at once on this host (one per phone at most)"),
    queue: str | None = typer.Option(None, help="Queue to consume (default: host.<FARM_HOST_NAME>)"),
) -> None:
    """Run a Celery worker for this farm host's phones."""
    from server.devices.service import queue_for
    from worker.celery_app import celery_app

    q = queue or queue_for(get_settings().host_name)
    _setup_logging()
    celery_app.worker_main(
        [
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


@app.command()
def agent() -> None:
    """Follow this host's adb server and keep the farm's list of phones true."""
    from device_agent.agent import Agent

    _setup_logging()
    Agent().run()


def _fault_help() -> str:
    from device_agent.virtual.fault_flags import help_text

    return help_text()


@app.command()
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
    fault: list[str] = typer.Option([], "--fault", help="NAME=VALUE, repeatable. Names: " + _fault_help()),
) -> None:
    """Run virtual phones that speak real ADB (for demos and tests)."""
    from device_agent.virtual.fault_flags import parse_faults
    from device_agent.virtual.fleet import main_phone

    _setup_logging()
    if not profile and not all_profiles:
        _fail("give --profile NAME or --all")
    if timing not in ("host", "profile", "sim"):
        _fail("--timing is host, profile or sim")
    try:
        faults = parse_faults(fault)
    except ValueError as exc:
        _fail(str(exc))
    main_phone(
        profile=profile,
        port=port,
        all_profiles=all_profiles,
        auth_key=auth_key,
        timing_mode=timing,
        adb_port=adb_port,
        faults=faults if fault else None,
    )


@app.command()
def attach(address: str = typer.Argument(..., help="HOST:PORT of a phone with adb over TCP")) -> None:
    """Attach a network phone (adb connect); the agent registers it."""
    from device_agent.agent import attach as do_attach

    console.print(do_attach(address))


def _device_table(devices: list[dict[str, Any]]) -> Table:
    table = Table("id", "serial", "host", "state", "model", "SoC", "Android", "RAM", "GPU", "tags", "virtual")
    for d in devices:
        soc = d["soc_name"] or d["soc_codename"] or "?"
        if not d["soc_known"]:
            soc += " (unknown)"
        table.add_row(
            str(d["id"]),
            d["serial"],
            d["host"],
            d["state"],
            d["model"] or "",
            soc,
            f"{d['android_release'] or '?'} (SDK {d['sdk'] or '?'})",
            f"{d['ram_mb'] or '?'} MB",
            d["gpu"] or "",
            ",".join(d["tags"]),
            "yes" if d["is_virtual"] else "",
        )
    return table


@app.command()
def devices(as_json: bool = typer.Option(False, "--json")) -> None:
    """List the farm's phones."""
    rows = _api().get("/devices")
    if as_json:
        console.print_json(json.dumps(rows))
    else:
        console.print(_device_table(rows))


@device_app.command("disable")
def device_disable(device_id: int) -> None:
    _api().post(f"/devices/{device_id}/disable")
    console.print(f"device {device_id} disabled")


@device_app.command("enable")
def device_enable(device_id: int) -> None:
    _api().post(f"/devices/{device_id}/enable")
    console.print(f"device {device_id} enabled")


@device_app.command("tag")
def device_tag(device_id: int, tags: list[str]) -> None:
    d = _api().post(f"/devices/{device_id}/tags", json={"tags": tags})
    console.print(f"device {device_id} tags: {', '.join(d['tags'])}")


@device_app.command("untag")
def device_untag(device_id: int, tags: list[str]) -> None:
    for tag in tags:
        d = _api().delete(f"/devices/{device_id}/tags/{tag}")
    console.print(f"device {device_id} tags: {', '.join(d['tags'])}")


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
        _fail(f"unknown role {role!r}: choose viewer, submitter, admin or agent")
        return
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
            _fail(f"no token with id {token_id}")
    console.print(f"token {token_id} revoked")


def _results_table(job: dict[str, Any], devices: dict[int, dict[str, Any]]) -> Table:
    table = Table(
        "phone",
        "SoC",
        "delegate",
        "threads",
        "state",
        "avg ms",
        "min ms",
        "max ms",
        "std ms",
        "init ms",
        "error",
        title=f"benchmark {job['id']}: {job['state']}",
    )
    for r in job["runs"]:
        d = devices.get(r["device_id"], {})
        res = r.get("result") or {}

        def ms(key: str, res: dict[str, Any] = res) -> str:
            v = res.get(key)
            return f"{v / 1000:.2f}" if v is not None else ""

        table.add_row(
            f"{d.get('model', '?')} ({d.get('serial', r['device_id'])})",
            d.get("soc_name") or "",
            r["delegate"],
            str(r["threads"]),
            r["state"],
            ms("avg_us"),
            ms("min_us"),
            ms("max_us"),
            ms("std_us"),
            ms("init_us"),
            (r.get("error") or "")[:60],
        )
    return table


@app.command()
def submit(
    model: Path = typer.Argument(..., help=".tflite file to upload (or --model-ref for one the farm has)"),
    soc: list[str] = typer.Option([], "--soc", help="SoC marketing name or codename (repeatable)"),
    device: list[int] = typer.Option([], "--device", help="Device id (repeatable)"),
    tag: list[str] = typer.Option([], "--tag", help="Device tag (repeatable)"),
    all_devices: bool = typer.Option(False, "--all", help="Every runnable phone"),
    delegate: str = typer.Option("cpu", help="Comma-separated: cpu,gpu,nnapi,xnnpack"),
    threads: str = typer.Option("4", help="Comma-separated thread counts"),
    runs: int = typer.Option(50, help="Measured inferences (minimum)"),
    warmup: int = typer.Option(1, help="Warm-up inferences"),
    wait: bool = typer.Option(False, help="Show live progress, then the results"),
    timeout: float = typer.Option(3600, help="Give up waiting after this many seconds"),
) -> None:
    """Upload a model and benchmark it on the chosen phones."""
    from device_agent.api_client import ApiError

    api_ = _api()
    if not model.is_file():
        _fail(f"{model} is not a file")
    try:
        with model.open("rb") as fh:
            m = api_.post("/models", files={"file": (model.name, fh, "application/octet-stream")})
        body = {
            "model": str(m["id"]),
            "devices": {"all": all_devices, "socs": soc, "ids": device, "tags": tag},
            "delegates": [d.strip() for d in delegate.split(",") if d.strip()],
            "threads": [int(t) for t in threads.split(",") if t.strip()],
            "num_runs": runs,
            "warmup_runs": warmup,
        }
        job = api_.post("/benchmarks", json=body)
    except ApiError as exc:
        _fail(exc.detail)
        return
    console.print(
        f"benchmark [bold]{job['id']}[/bold]: {job['progress']['total']} runs queued "
        f"(model {m['name']}, sha256 {m['sha256'][:12]})"
    )
    if not wait:
        return
    job = _watch(api_, job["id"], timeout)
    devs = {d["id"]: d for d in api_.get("/devices")}
    console.print(_results_table(job, devs))
    if job["state"] not in ("succeeded",):
        raise typer.Exit(1)


def _watch(api_: Any, job_id: int, timeout: float) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    deadline = time.monotonic() + timeout
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("queued", total=None)
        while True:
            job = api_.get(f"/benchmarks/{job_id}")
            p = job["progress"]
            bar.update(
                task,
                total=p["total"],
                completed=p["done"],
                description=f"{job['state']}: {p['running']} running, {p['succeeded']} ok, {p['failed']} failed",
            )
            if job["state"] in ("succeeded", "failed", "partial", "cancelled"):
                return dict(job)
            if time.monotonic() > deadline:
                _fail(f"benchmark {job_id} still {job['state']} after {timeout:.0f} s")
            time.sleep(0.5)


def _percent(text: str) -> float:
    text = text.strip()
    return float(text[:-1]) / 100 if text.endswith("%") else float(text)


@app.command()
def compare(
    a: int = typer.Argument(..., help="Baseline benchmark id"),
    b: int = typer.Argument(..., help="Candidate benchmark id"),
    fail_on_regression: str | None = typer.Option(
        None, help="Exit 1 when b is slower beyond noise by more than this (e.g. 5%)"
    ),
) -> None:
    """Compare two benchmarks phone by phone, at 95% confidence."""
    from server.results.compare import CompareOut, regressions

    result = CompareOut.model_validate(_api().get("/compare", params={"a": a, "b": b}))
    table = Table(
        "phone",
        "SoC",
        "delegate",
        "threads",
        "a ms",
        "b ms",
        "b/a",
        "95% interval",
        "detects ≥",
        "verdict",
        title=f"benchmark {b} against {a}",
    )
    for p in result.pairs:
        style = {"slower": "red", "faster": "green"}.get(p.verdict, "")
        table.add_row(
            p.device or str(p.device_id),
            p.soc or "",
            p.delegate,
            str(p.threads),
            f"{p.a_median_us / 1000:.3f}",
            f"{p.b_median_us / 1000:.3f}",
            f"{p.ratio:.3f}",
            f"{p.ratio_low:.3f}–{p.ratio_high:.3f}"
            if p.ratio_low is not None and p.ratio_high is not None
            else "none",
            f"{p.detectable_pct:.1f}%" if p.detectable_pct is not None else "–",
            f"[{style}]{p.verdict}[/{style}]" + (" (unstable)" if p.unstable else "") if style else p.verdict,
        )
    console.print(table)
    for m in result.missing:
        console.print(f"[yellow]not compared:[/yellow] {m}")
    for p in result.pairs:
        if p.verdict == "unknown":
            console.print(
                f"[yellow]no verdict for {p.device or p.device_id} {p.delegate}:[/yellow] {p.reason}"
            )
    if fail_on_regression is not None:
        tolerance = _percent(fail_on_regression)
        blind = [
            p for p in result.pairs if p.detectable_pct is not None and p.detectable_pct > 100 * tolerance
        ]
        if blind:
            console.print(
                f"[yellow]{len(blind)} pair(s) too noisy to detect {fail_on_regression} reliably:[/yellow] "
                "raise trials or set target_ci_pct"
            )
        bad = regressions(result, tolerance)
        if bad:
            console.print(f"[red]{len(bad)} regression(s) beyond {fail_on_regression}[/red]")
            raise typer.Exit(1)
        console.print(f"no regression beyond {fail_on_regression}")


@app.command()
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

    _setup_logging()
    if timing not in ("host", "profile", "sim"):
        _fail("--timing is host, profile or sim")
    run_all(port=port, virtual=virtual, concurrency=concurrency, timing=timing)


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
    sys.exit(app())
