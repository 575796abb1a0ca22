"""`farm infer MODEL IMAGE`: segment an image on chosen phones, save the masks, report the numerics.

The seed app's "segment this image on that phone", through the farm: the image and a JSON
spec go to ``POST /api/v1/inferences``; with ``--wait`` the command polls until every run
is done, downloads each run's mask and overlay next to each other in ``--out`` and prints
where they are, with each delegate's agreement with the CPU on the same phone. Errors are
one or two lines (the API's problem detail), never a traceback.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
DONE = ("succeeded", "failed", "partial", "cancelled")


def _fail(msg: str, code: int = 1) -> None:
    console.print(f"[red]error:[/red] {msg}")
    raise typer.Exit(code)


def _model_ref(api: Any, model: str) -> str:
    """A .tflite path is uploaded (the same bytes are one model); anything else is a reference."""
    path = Path(model)
    if path.suffix == ".tflite" and path.is_file():
        with path.open("rb") as fh:
            m = api.post("/models", files={"file": (path.name, fh, "application/octet-stream")})
        return str(m["id"])
    return model


def _save(api: Any, url: str, dest: Path) -> None:
    resp = api.http.get(url.removeprefix("/api/v1"))
    if resp.status_code == 200:
        dest.write_bytes(resp.content)


def infer(
    model: str = typer.Argument(..., help="Model id, sha256, zoo name, or a .tflite file to upload"),
    image: Path = typer.Argument(..., help="PNG or JPEG"),
    soc: list[str] = typer.Option([], "--soc", help="SoC marketing name or codename (repeatable)"),
    device: list[int] = typer.Option([], "--device", help="Device id (repeatable)"),
    all_devices: bool = typer.Option(False, "--all", help="Every runnable phone"),
    delegate: str = typer.Option("cpu,gpu", help="Comma-separated: cpu,gpu,nnapi,xnnpack"),
    threads: int = typer.Option(4, help="CPU threads"),
    range_: str | None = typer.Option(
        None, "--range", help="Input scaling: 0,1 | -1,1 | 0,255 (default: model card)"
    ),
    threshold: float = typer.Option(0.99, help="Pixel agreement with the CPU below this is flagged"),
    wait: bool = typer.Option(False, help="Wait, then save the masks and print where they are"),
    out: Path | None = typer.Option(None, help="Where masks go (default: ./inference-<id>/)"),
    timeout: float = typer.Option(600, help="Give up waiting after this many seconds"),
) -> None:
    """Run an image through a model on phones: a mask per phone × delegate, checked against the CPU."""
    from device_agent.api_client import ApiError, FarmApi

    if not image.is_file():
        _fail(f"{image} is not a file")
    api = FarmApi()
    spec: dict[str, Any] = {
        "devices": {"all": all_devices, "socs": soc, "ids": device},
        "delegates": [d.strip() for d in delegate.split(",") if d.strip()],
        "threads": threads,
        "numerics_threshold": threshold,
    }
    if range_:
        spec["preprocessing"] = {"range": range_}
    try:
        spec["model"] = _model_ref(api, model)
        with image.open("rb") as fh:
            inf = api.post("/inferences", files={"image": (image.name, fh)}, data={"spec": json.dumps(spec)})
    except ApiError as exc:
        _fail(exc.detail)
        return
    console.print(f"inference [bold]{inf['id']}[/bold]: {len(inf['runs'])} runs queued (job {inf['job_id']})")
    if not wait:
        return
    deadline = time.monotonic() + timeout
    while inf["state"] not in DONE:
        if time.monotonic() > deadline:
            _fail(f"inference {inf['id']} still {inf['state']} after {timeout:.0f} s")
        time.sleep(0.5)
        inf = api.get(f"/inferences/{inf['id']}")
    where = out or Path(f"inference-{inf['id']}")
    where.mkdir(parents=True, exist_ok=True)
    table = Table(
        "phone",
        "SoC",
        "delegate",
        "state",
        "ms",
        "agreement",
        "mIoU",
        "max |Δ|",
        "mask",
        title=f"inference {inf['id']}",
    )
    for r in inf["runs"]:
        mask = "–"
        if r.get("mask_url"):
            stem = f"{r['run_id']}-{r['phone']}-{r['delegate']}".replace(" ", "_").replace("/", "_")
            _save(api, r["mask_url"], where / f"{stem}-mask.png")
            _save(api, r["overlay_url"], where / f"{stem}-overlay.png")
            mask = str(where / f"{stem}-mask.png")
        elif r.get("note"):
            mask = r["note"].split(":")[0]
        n = r.get("numerics") or {}
        agree = n.get("pixel_agreement", n.get("agreement"))
        flag = " [red]numerics_mismatch[/red]" if r.get("numerics_mismatch") else ""
        table.add_row(
            r["phone"],
            r.get("soc") or "",
            r["delegate"],
            r["state"] + (f": {r['error']}" if r.get("error") else ""),
            f"{r['inference_us'] / 1000:.2f}" if r.get("inference_us") else "–",
            (f"{agree:.2%}" if agree is not None else "–") + flag,
            f"{n['miou']:.3f}" if n.get("miou") is not None else "–",
            f"{n['max_abs_diff']:.3g}" if n else "–",
            mask,
        )
    console.print(table)
    console.print(f"masks and overlays in {where.resolve()}")
    if inf["numerics_mismatch"]:
        console.print(
            f"[red]a delegate changed the answer (agreement with the CPU below {threshold:.0%})[/red]"
        )
    if inf["state"] != "succeeded":
        raise typer.Exit(1)
