"""Commands that talk to a farm over its REST API: phones, benchmarks, comparisons.

They hold no farm logic: every call goes through the same client notebooks use.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from cli.output import console, fail

device_app = typer.Typer(help="Operate on one phone (admin).", no_args_is_help=True)


def _api() -> Any:
    from device_agent.api_client import FarmApi

    return FarmApi()


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
        fail(f"{model} is not a file")
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
        fail(exc.detail)
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
                fail(f"benchmark {job_id} still {job['state']} after {timeout:.0f} s")
            time.sleep(0.5)


def _percent(text: str) -> float:
    text = text.strip()
    return float(text[:-1]) / 100 if text.endswith("%") else float(text)


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
            f"{p.ratio_low:.3f}–{p.ratio_high:.3f}",
            f"[{style}]{p.verdict}[/{style}]" + (" (unstable)" if p.unstable else "") if style else p.verdict,
        )
    console.print(table)
    for m in result.missing:
        console.print(f"[yellow]not compared:[/yellow] {m}")
    if fail_on_regression is not None:
        bad = regressions(result, _percent(fail_on_regression))
        if bad:
            console.print(f"[red]{len(bad)} regression(s) beyond {fail_on_regression}[/red]")
            raise typer.Exit(1)
        console.print(f"no regression beyond {fail_on_regression}")


def register(app: typer.Typer) -> None:
    for command in (devices, submit, compare):
        app.command()(command)
    app.add_typer(device_app, name="device")
