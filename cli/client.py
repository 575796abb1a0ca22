"""Commands that talk to a farm over its REST API: phones, benchmarks, comparisons.

They hold no farm logic: every call goes through `phonefarm.Farm`, the client notebooks use.
Options are checked here, so a typo names the flag (`--threads`), not an API field.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from cli.output import console, fail
from contracts.vocabulary import JobState
from phonefarm import Farm, Job
from phonefarm.frames import phone_labels

device_app = typer.Typer(help="Operate on one phone (admin).", no_args_is_help=True)
DELEGATES = ("cpu", "gpu", "nnapi", "xnnpack")


def farm() -> Farm:
    return Farm()


def parse_delegates(text: str) -> list[str]:
    """'CPU, gpu' -> ['cpu', 'gpu']; anything else is a bad --delegate."""
    values = [d.strip().lower() for d in text.split(",") if d.strip()]
    bad = [d for d in values if d not in DELEGATES]
    if bad or not values:
        raise typer.BadParameter(
            f"{', '.join(bad) or 'nothing'} is not a delegate; choose from {', '.join(DELEGATES)} "
            "(comma-separated)",
            param_hint="--delegate",
        )
    return values


def parse_threads(text: str) -> list[int]:
    """'1,4' -> [1, 4]: whole numbers from 1 to 16."""
    parts = [t.strip() for t in text.split(",") if t.strip()]
    if not parts or not all(t.isdecimal() and 1 <= int(t) <= 16 for t in parts):
        raise typer.BadParameter(
            f"{text!r} is not a list of thread counts; give whole numbers 1-16, e.g. 4 or 1,4",
            param_hint="--threads",
        )
    return [int(t) for t in parts]


def parse_percent(text: str) -> float:
    """'5%' or '0.05' -> 0.05."""
    raw = text.strip()
    number = raw[:-1].strip() if raw.endswith("%") else raw
    try:
        value = float(number)
    except ValueError:
        value = float("nan")
    if not 0 <= value < (1000 if raw.endswith("%") else 10):
        raise typer.BadParameter(
            f"{text!r} is not a percentage; give e.g. 5% or 0.05", param_hint="--fail-on-regression"
        )
    return value / 100 if raw.endswith("%") else value


def _ram(mb: int | None) -> str:
    return f"{mb / 1024:.1f} GB" if mb else "?"


def device_table(devices: list[dict[str, Any]], wide: bool = False) -> Table:
    """Compact (fits 80 columns): id, phone, SoC, state, RAM, tags. --wide adds the rest."""
    labels = phone_labels(devices)
    columns = ["id", "phone", "SoC", "state", "RAM", "tags"]
    if wide:
        columns += ["serial", "host", "Android", "GPU", "virtual"]
    table = Table(*columns, pad_edge=False)
    for d in devices:
        soc = d["soc_name"] or d["soc_codename"] or "?"
        if not d["soc_known"]:
            soc += " (unknown)"
        row = [
            str(d["id"]),
            labels[int(d["id"])] + (" *" if d["is_virtual"] and not wide else ""),
            soc,
            d["state"],
            _ram(d["ram_mb"]),
            ",".join(d["tags"]),
        ]
        if wide:
            row += [
                d["serial"],
                d["host"],
                f"{d['android_release'] or '?'} (SDK {d['sdk'] or '?'})",
                d["gpu"] or "",
                "yes" if d["is_virtual"] else "",
            ]
        table.add_row(*row)
    return table


def devices(
    as_json: bool = typer.Option(False, "--json", help="Every field, as JSON"),
    wide: bool = typer.Option(False, "--wide", help="All columns (serial, host, Android, GPU)"),
) -> None:
    """List the farm's phones (* = virtual phone)."""
    rows = farm().devices()
    if as_json:
        console.print_json(json.dumps(rows))
        return
    console.print(device_table(rows, wide))
    if not rows:
        console.print("no phones yet: attach one with `farm attach HOST:PORT`, or start `farm up`")


@device_app.command("disable")
def device_disable(device_id: int) -> None:
    """Keep the phone out of new benchmarks."""
    farm().post(f"/devices/{device_id}/disable")
    console.print(f"device {device_id} disabled")


@device_app.command("enable")
def device_enable(device_id: int) -> None:
    """Let the phone take benchmarks again."""
    farm().post(f"/devices/{device_id}/enable")
    console.print(f"device {device_id} enabled")


@device_app.command("tag")
def device_tag(device_id: int, tags: list[str]) -> None:
    """Add tags (select phones with `farm submit --tag`)."""
    d = farm().post(f"/devices/{device_id}/tags", json={"tags": tags})
    console.print(f"device {device_id} tags: {', '.join(d['tags'])}")


@device_app.command("untag")
def device_untag(device_id: int, tags: list[str]) -> None:
    """Remove tags."""
    f = farm()
    d: dict[str, Any] = {"tags": []}
    for tag in tags:
        d = f.delete(f"/devices/{device_id}/tags/{tag}")
    console.print(f"device {device_id} tags: {', '.join(d['tags'])}")


def results_table(job: dict[str, Any], devs: list[dict[str, Any]]) -> Table:
    labels = phone_labels(devs)
    socs = {d["id"]: d.get("soc_name") or "" for d in devs}
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
        res = r.get("result") or {}

        def ms(key: str, res: dict[str, Any] = res) -> str:
            v = res.get(key)
            return f"{v / 1000:.2f}" if v is not None else ""

        table.add_row(
            labels.get(r["device_id"], f"device {r['device_id']}"),
            socs.get(r["device_id"], ""),
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
    model: str = typer.Argument(
        ..., help="A .tflite file to upload, or a model the farm has: id, sha256 prefix, name or zoo name"
    ),
    soc: list[str] = typer.Option(
        [], "--soc", help="SoC name, codename, chip id (sm8550) or unambiguous name prefix (repeatable)"
    ),
    device: list[int] = typer.Option([], "--device", help="Device id (repeatable)"),
    tag: list[str] = typer.Option([], "--tag", help="Device tag (repeatable)"),
    all_devices: bool = typer.Option(False, "--all", help="Every runnable phone"),
    allow_partial: bool = typer.Option(
        False, "--allow-partial", help="Run on what matches even if some --soc/--device/--tag match nothing"
    ),
    delegate: str = typer.Option("cpu", help="Comma-separated, any case: cpu,gpu,nnapi,xnnpack"),
    threads: str = typer.Option("4", help="Comma-separated thread counts, e.g. 1,4"),
    runs: int = typer.Option(50, min=1, max=10000, help="Measured inferences (minimum)"),
    warmup: int = typer.Option(1, min=0, max=1000, help="Warm-up inferences"),
    wait: bool = typer.Option(False, help="Show live progress, then the results"),
    timeout: float = typer.Option(3600, help="Give up waiting after this many seconds"),
) -> None:
    """Benchmark a model (a file, or one the farm has) on the chosen phones."""
    delegates = parse_delegates(delegate)
    thread_counts = parse_threads(threads)
    if not (all_devices or soc or device or tag):
        fail("choose phones", "give --soc NAME, --device ID, --tag TAG or --all (see `farm devices`)")
    f = farm()
    looks_like_file = model.endswith(".tflite") or "/" in model
    if looks_like_file and not Path(model).is_file() and not _known_model(f, model):
        fail(
            f"{model}: no such file, and no model of that name on the farm",
            "give a .tflite file, or a model the farm has: id, sha256 prefix, name or zoo name",
        )
    job = f.benchmark(
        model,
        socs=soc,
        ids=device,
        tags=tag,
        all=all_devices,
        allow_partial=allow_partial,
        delegates=delegates,
        threads=thread_counts,
        num_runs=runs,
        warmup_runs=warmup,
    )
    m = f.get(f"/models/{job.data['model_id']}")
    console.print(
        f"benchmark [bold]{job.id}[/bold]: {job.data['progress']['total']} runs queued "
        f"(model {m['name']} #{m['id']}, sha256 {m['sha256'][:12]})"
    )
    if not wait:
        return
    watch(job, timeout)
    console.print(results_table(job.data, f.devices()))
    if job.state != JobState.succeeded:
        raise typer.Exit(1)


def _known_model(f: Farm, name: str) -> bool:
    return any(name in (m.get("name"), m.get("zoo_name")) for m in f.models())


def watch(job: Job, timeout: float) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    deadline = time.monotonic() + timeout
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task(JobState.queued, total=None)
        while True:
            p = job.refresh().data["progress"]
            bar.update(
                task,
                total=p["total"],
                completed=p["done"],
                description=f"{job.state}: {p['running']} running, {p['succeeded']} ok, {p['failed']} failed",
            )
            if job.done:
                return
            if time.monotonic() > deadline:
                fail(
                    f"benchmark {job.id} still {job.state} after {timeout:.0f} s",
                    f"it keeps running; look later with the dashboard or `farm compare {job.id} {job.id}`",
                )
            time.sleep(0.5)


def compare(
    a: int = typer.Argument(..., help="Baseline benchmark id"),
    b: int = typer.Argument(..., help="Candidate benchmark id"),
    fail_on_regression: str | None = typer.Option(
        None, help="Exit 1 when b is slower beyond noise by more than this (e.g. 5%)"
    ),
    output: str = typer.Option("table", "--format", help="table | markdown (for a PR comment) | json"),
    allow_missing: bool = typer.Option(
        False, help="With --fail-on-regression: do not exit 2 when pairs are missing or runs failed"
    ),
) -> None:
    """Compare two benchmarks phone by phone, at 95% confidence.

    With --fail-on-regression: exit 1 on a regression, exit 2 when the comparison is
    incomplete (a pair missing, a run of either job not succeeded) unless --allow-missing.
    """
    tolerance = parse_percent(fail_on_regression) if fail_on_regression is not None else None
    if output not in ("table", "markdown", "json"):
        raise typer.BadParameter(f"{output!r}: choose table, markdown or json", param_hint="--format")
    f = farm()
    result = f.compare(a, b)
    mismatches = [
        f"{n['phone']} {n['delegate']}: {n['numerics']['agreement']:.2%} agreement with CPU"
        for n in f.get(f"/benchmarks/{b}/numerics")  # jobs submitted with numerics: true
        if n["numerics_mismatch"]
    ]
    if output == "markdown":
        print(result.to_markdown(tolerance), end="")
        for m in mismatches:
            print(f"\n**numerics_mismatch:** {m}")
    elif output == "json":
        print(
            json.dumps(
                {
                    "a": a,
                    "b": b,
                    "pairs": result.pairs.to_dict("records"),
                    "missing": result.missing,
                    "unfinished": result.unfinished,
                    "numerics_mismatch": mismatches,
                },
                indent=2,
            )
        )
    else:
        print_comparison(result, a, b)
        for m in mismatches:
            console.print(f"[red]numerics_mismatch:[/red] {m}")
    if tolerance is not None:
        bad = result.regressions(tolerance)
        incomplete = not result.complete and not allow_missing
        if output == "table":
            if len(bad):
                console.print(f"[red]{len(bad)} regression(s) beyond {fail_on_regression}[/red]")
            elif incomplete:
                console.print(
                    f"[red]incomplete comparison: {len(result.not_compared())} item(s) not compared "
                    "(listed above); rerun them or pass --allow-missing[/red]"
                )
            else:
                console.print(f"no regression beyond {fail_on_regression} in {len(result.pairs)} pair(s)")
        if len(bad):
            raise typer.Exit(1)
        if incomplete:  # a gate that passes on nothing compared lets every broken candidate through
            raise typer.Exit(2)


def _interval(p: dict[str, Any]) -> str:
    """The ratio's 95 % interval and the smallest regression the pair detects, or why there is none."""
    low, high, detect = p.get("ratio_low"), p.get("ratio_high"), p.get("detectable_pct")
    if low is None or high is None or low != low or high != high:  # None or NaN: no interval
        return "no interval"
    return f"{low:.3f}–{high:.3f}" + (f" ≥{detect:.1f}%" if detect is not None and detect == detect else "")


VERDICT_WORDS = {"indistinguishable": "same"}  # within noise; the API and JSON keep the full word


def print_comparison(result: Any, a: int, b: int) -> None:
    """Fits 80 columns: the phone (with its SoC below), delegate and threads in one cell."""
    table = Table(title=f"benchmark {b} against {a}", pad_edge=False)
    table.add_column("phone", min_width=14, ratio=1)
    table.add_column("run", no_wrap=True)
    for name in ("a ms", "b ms"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("b/a (95%)", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for p in result.pairs.to_dict("records"):
        style = {"slower": "red", "faster": "green"}.get(p["verdict"], "")
        verdict = VERDICT_WORDS.get(p["verdict"], p["verdict"]) + ("\n(unstable)" if p["unstable"] else "")
        phone = p["device"] or str(p["device_id"])
        table.add_row(
            phone + (f"\n[dim]{p['soc']}[/dim]" if p["soc"] else ""),
            f"{p['delegate']} ×{p['threads']}",
            f"{p['a_median_us'] / 1000:.3f}",
            f"{p['b_median_us'] / 1000:.3f}",
            f"{p['ratio']:.3f}\n[dim]{_interval(p)}[/dim]",
            f"[{style}]{verdict}[/{style}]" if style else verdict,
        )
    console.print(table)
    for m in result.not_compared():
        console.print(f"[yellow]not compared:[/yellow] {m}")


def config(
    get: str | None = typer.Option(None, "--get", help="Print one value: api_url, token_file or data_dir"),
) -> None:
    """Where the farm is, as every farm command sees it (env vars, then `farm up`'s config file)."""
    from contracts.farm_config import config_path
    from contracts.settings import Settings

    settings = Settings()
    values = {
        "api_url": settings.api_url,
        "token_file": str(settings.token_file or settings.data_dir / "admin.token"),
        "data_dir": str(settings.data_dir),
        "config": str(config_path()),
    }
    if get is not None:
        if get not in values:
            raise typer.BadParameter(f"{get!r}: choose {', '.join(values)}", param_hint="--get")
        print(values[get])
        return
    for key, value in values.items():
        print(f"{key:<11} {value}")


def register(app: typer.Typer) -> None:
    for command in (devices, submit, compare, config):
        app.command()(command)
    app.add_typer(device_app, name="device")
