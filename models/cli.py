"""``farm models ...``: build, list, evaluate the zoo; remake the test fixture.

Why a thin wrapper: all logic lives in plain functions (``models.build.build``,
``models.evaluate.evaluate``, ...) so the API, tests and notebooks use them
directly; this module only parses options and prints. It imports nothing heavy at
import time, so mounting it in the main ``farm`` CLI costs nothing and works
without TensorFlow (``list``, ``eval`` and ``make-dataset`` never need it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Model zoo: build segmentation networks to .tflite, list them, evaluate them.", no_args_is_help=True
)
console = Console()


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f}"


@app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List the networks in the zoo."""
    from models.zoo import ZOO

    if as_json:
        rows = [
            {
                "name": e.name,
                "input_shape": list(e.input_shape),
                "description": e.description,
                "seed_size_mb": e.seed_size_mb,
            }
            for e in ZOO.values()
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("name", "input", "description")
    for e in ZOO.values():
        table.add_row(e.name, f"{e.input_size}×{e.input_size}×3", e.description)
    console.print(table)


@app.command()
def build(
    only: str = typer.Option("", "--only", help="Comma-separated zoo names (default: all)."),
    quant: str = typer.Option("fp32,fp16,int8", "--quant", help="Comma-separated: fp32, fp16, int8."),
    out: Path = typer.Option(Path("build/zoo"), "--out", help="Output directory."),
) -> None:
    """Build zoo models to <out>/<name>_<quant>.tflite with a JSON model card each (needs TensorFlow)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    from models.build import ModelCard, markdown_table, parse_list
    from models.build import build as build_models
    from models.zoo import ZOO

    def done(card: ModelCard) -> None:
        console.print(
            f"[green]✓[/] {card.file}  {_mb(card.size_bytes)} MB  "
            f"{card.parameters / 1e6:.2f} M params  {card.macs / 1e9:.2f} GMACs"
        )

    try:
        cards = build_models(parse_list(only), parse_list(quant) or ["fp32"], out, on_done=done)
    except (KeyError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    console.print(f"{len(cards)} model(s) written to {out}")
    table = markdown_table(cards, {n: e.seed_size_mb for n, e in ZOO.items()})
    (out / "zoo_table.md").write_text(table)
    typer.echo(table)


@app.command("eval")
def eval_cmd(
    model: Path = typer.Argument(..., exists=True, dir_okay=False, help="Segmentation .tflite file."),
    dataset: Path = typer.Option(..., "--dataset", exists=True, file_okay=False, help="VOC-layout dataset."),
    num_classes: int | None = typer.Option(None, "--num-classes", help="Default: model output channels."),
    split: str = typer.Option(
        "val", "--split", help="ImageSets/Segmentation/<split>.txt (all masks if absent)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Evaluate mIoU and pixel accuracy of a .tflite model with LiteRT."""
    from models.evaluate import evaluate

    report = evaluate(model, dataset, num_classes, progress=not as_json, split=split)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    table = Table("class", "IoU")
    for i, v in enumerate(report.per_class_iou):
        table.add_row(str(i), "–" if v != v else f"{v:.4f}")
    console.print(table)
    console.print(
        f"images {report.images}  mIoU {report.miou:.4f}  pixel accuracy {report.pixel_accuracy:.4f}"
    )


@app.command()
def fixture(
    out: Path | None = typer.Option(None, "--out", help="Default: tests/fixtures/tiny_segmenter.tflite"),
) -> None:
    """Remake the tiny test fixture model (needs TensorFlow)."""
    from models.fixture import FIXTURE_PATH, make_fixture

    path = make_fixture(out or FIXTURE_PATH)
    console.print(f"wrote {path} ({path.stat().st_size} bytes)")


@app.command("make-dataset")
def make_dataset_cmd(
    directory: Path = typer.Argument(..., help="Where to write the dataset."),
    n: int = typer.Option(12, "--n", help="Number of images."),
    size: int = typer.Option(96, "--size", help="Image side in pixels."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Write a synthetic VOC-layout dataset (4 classes, 255-ignore borders)."""
    from models.synthetic import make_dataset

    make_dataset(directory, n=n, size=size, seed=seed)
    console.print(f"wrote {n} samples to {directory}")


if __name__ == "__main__":
    app()


@app.command()
def publish(
    directory: Path = typer.Argument(Path("build/zoo"), help="Where `farm models build` wrote the files"),
    public: bool = typer.Option(True, help="Visible to every farm user"),
) -> None:
    """Upload built zoo models to the farm; jobs can then name them (e.g. "enet_256_fp16")."""
    from device_agent.api_client import ApiError, FarmApi

    files = sorted(directory.glob("*.tflite"))
    if not files:
        console.print(f"[red]no .tflite files in {directory}[/red]: run `farm models build` first")
        raise typer.Exit(1)
    api = FarmApi()
    for path in files:
        try:
            with path.open("rb") as fh:
                model = api.post(
                    "/models",
                    files={"file": (path.name, fh, "application/octet-stream")},
                    data={"name": path.stem, "zoo_name": path.stem, "public": str(public).lower()},
                )
        except ApiError as exc:
            console.print(f"[red]{path.name}: {exc.detail}[/red]")
            raise typer.Exit(1) from exc
        console.print(f"{path.stem}: model {model['id']} (sha256 {model['sha256'][:12]})")
