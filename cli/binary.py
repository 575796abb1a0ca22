"""`farm binary ...`: the farm's benchmark_model builds, one per ABI (and Flex variant).

Everything goes through the REST API (admin token to write), so the CLI works from any
machine that reaches the server; `fetch` downloads here, then uploads what it verified.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

from cli import fetch as fetching
from cli.output import fail
from contracts.elf import ElfError, read_elf
from contracts.settings import get_settings
from contracts.vocabulary import Abi

app = typer.Typer(help="benchmark_model binaries, one per ABI (admin to change).", no_args_is_help=True)
console = Console()


def _api() -> Any:
    from device_agent.api_client import FarmApi

    return FarmApi(timeout=300.0)


@contextmanager
def _errors() -> Iterator[None]:
    """One or two lines for the user, never a traceback. The farm's own errors (FarmError, the
    API's problem+json) go on to cli/errors.py, which says them with the fix for their status."""
    try:
        yield
    except httpx.HTTPError as exc:
        fail(f"cannot reach the API at {get_settings().api_url}: {exc}")
    except (fetching.FetchError, ElfError, OSError) as exc:
        fail(str(exc))


def upload(path: Path, abi: str | None, flex: bool, source_url: str | None) -> tuple[dict[str, Any], bool]:
    data: dict[str, str] = {"flex": str(flex).lower()}
    if abi:
        data["abi"] = abi
    if source_url:
        data["source_url"] = source_url[:500]
    with path.open("rb") as fh:
        resp = _api().send("POST", "/binaries", files={"file": (path.name, fh)}, data=data)
    return resp.json(), resp.status_code == 201


@app.command("add")
def add(
    path: Path = typer.Argument(..., help="A benchmark_model file (ELF executable)"),
    abi: Abi | None = typer.Option(None, help="Check the ELF header says this ABI"),
    flex: bool = typer.Option(False, "--flex", help="The build includes Flex (Select TF ops)"),
) -> None:
    """Register a benchmark_model build; its ABI is read from the ELF header."""
    with _errors():
        if not path.is_file():
            raise OSError(f"{path} is not a file")
        with path.open("rb") as fh:
            info = read_elf(fh.read(64))  # refuse here too, before uploading megabytes
        row, created = upload(path, abi.value if abi else None, flex, f"file://{path.resolve()}")
    state = "registered" if created else "already registered"
    console.print(
        f"{state}: {row['sha256']}  {row['abi']} ({info.bits}-bit){'  flex' if row['flex'] else ''}"
    )


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """The registered builds, newest first."""
    with _errors():
        rows = _api().get("/binaries")
    if as_json:
        import json

        console.print_json(json.dumps(rows))
        return
    table = Table("ABI", "flex", "size", "version", "flags", "added by")  # --json: every field
    table.add_column("sha256", no_wrap=True, min_width=12)
    for r in rows:
        table.add_row(
            r["abi"],
            "yes" if r["flex"] else "",
            f"{r['size_bytes'] / 1e6:.1f} MB",
            r["tool_version"] or "?",
            "not probed" if r["flags"] is None else str(len(r["flags"])),
            r["added_by"] or "?",
            r["sha256"][:12],
        )
    console.print(table)


@app.command("remove")
def remove(sha: str = typer.Argument(..., help="sha256 or a prefix of 8+ hex digits")) -> None:
    """Unregister a build (phones keep their pushed copy until the next one arrives)."""
    with _errors():
        row = _api().delete(f"/binaries/{sha.lower()}")
    console.print(f"removed {row['sha256']} ({row['abi']})")


@app.command("fetch")
def fetch(
    version: str = typer.Option("nightly", help="Catalog version (cli/data/benchmark_binaries.toml)"),
    abi: str = typer.Option("", help="Comma-separated ABIs (default: every ABI the catalog has)"),
    flex: bool = typer.Option(False, "--flex", help="The builds with Flex (Select TF ops)"),
    source: str | None = typer.Option(
        None, "--from", help="A mirror: base URL or directory holding the same file names"
    ),
    catalog: Path = typer.Option(fetching.CATALOG, hidden=True),
) -> None:
    """Download TensorFlow Lite's prebuilt benchmark_model per ABI, verify it, register it."""
    abis = [a.strip() for a in abi.split(",") if a.strip()]
    with _errors():
        for a in abis:
            try:
                Abi(a)
            except ValueError:
                raise fetching.FetchError(
                    f"unknown ABI {a!r}: one of {', '.join(x.value for x in Abi)}"
                ) from None
        entries = fetching.select(fetching.load_catalog(catalog), version, abis, flex)
        downloads = get_settings().data_dir / "downloads"
        for entry in entries:
            src = fetching.source_of(entry, source)
            console.print(f"{entry.abi}{' flex' if entry.flex else ''} {entry.version}: {src}")
            with _bar() as progress:
                path = fetching.download(src, downloads / f"{entry.version}-{entry.filename}", progress)
            sha, known = fetching.verify(path, entry)
            _row, created = upload(path, entry.abi, entry.flex, src if src.startswith("http") else entry.url)
            check = "matches the catalog" if known else "not in the catalog: check it and pin it there"
            console.print(f"  sha256 {sha} ({check}); {'registered' if created else 'already registered'}")
            path.unlink(missing_ok=True)


@contextmanager
def _bar() -> Iterator[Callable[[int, int | None], None]]:
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("download", total=None)

        def update(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        yield update
