"""The comparison pivot and its Markdown/CSV exports, on hand-made aggregated rows.

Expected cells are written out by hand (or computed here from the inputs), not taken
from the code under test.
"""

from __future__ import annotations

import io
import math

import pandas as pd
import pytest

from server.dashboard import tables

DEEPLAB = {
    "model_id": 1,
    "model": "DeepLab V3",
    "inputs": [{"name": "x", "shape": [1, 513, 513, 3], "dtype": "FLOAT32"}],
    "size_bytes": 8_800_000,
}
UNET = {
    "model_id": 2,
    "model": "U-Net",
    "inputs": [{"name": "x", "shape": [1, 224, 224, 3], "dtype": "FLOAT32"}],
    "size_bytes": 25_400_000,
}
SD845 = {"soc_name": "Snapdragon 845", "soc_known": True, "ram_gb": 6.0, "is_virtual": False}
SD625 = {"soc_name": "Snapdragon 625", "soc_known": True, "ram_gb": 4.0, "is_virtual": False}
EXY = {"soc_name": "Exynos 7420", "soc_known": True, "ram_gb": None, "is_virtual": False}
VIRT = {"soc_name": "Snapdragon 845", "soc_known": True, "ram_gb": 4.0, "is_virtual": True}


def row(model: dict, phone: dict, delegate: str, ms: float, phones: int = 1) -> dict:
    return {**model, **phone, "delegate": delegate, "avg_us": ms * 1000, "phones": phones}


def seed_rows() -> list[dict]:
    return [
        row(DEEPLAB, SD625, "cpu", 2307.75),
        row(DEEPLAB, SD845, "cpu", 845.35),
        row(DEEPLAB, EXY, "cpu", 2328.35),
        row(DEEPLAB, SD845, "gpu", 139.55),
        row(DEEPLAB, SD625, "gpu", 391.6),
        row(UNET, SD845, "cpu", 414.68),
        row(UNET, SD625, "cpu", 867.35),
        row(UNET, VIRT, "cpu", 30.0),
    ]


def test_rows_columns_and_cells() -> None:
    df = tables.comparison_frame(seed_rows())
    assert list(df.index) == [
        "DeepLab V3 [513x513] CPU",
        "DeepLab V3 [513x513] GPU",
        "U-Net [224x224] CPU",
    ]
    assert list(df.columns) == [
        "Exynos 7420",
        "Snapdragon 625 (4 GB RAM)",
        "Snapdragon 845 (6 GB RAM)",
        "Snapdragon 845 (4 GB RAM) [virtual]",
        "Size (MB)",
    ]
    assert df.loc["DeepLab V3 [513x513] CPU", "Snapdragon 845 (6 GB RAM)"] == pytest.approx(845.35)
    assert df.loc["DeepLab V3 [513x513] GPU", "Snapdragon 625 (4 GB RAM)"] == pytest.approx(391.6)
    assert df.loc["U-Net [224x224] CPU", "Snapdragon 845 (4 GB RAM) [virtual]"] == pytest.approx(30.0)
    assert math.isnan(df.loc["DeepLab V3 [513x513] GPU", "Exynos 7420"])
    assert math.isnan(df.loc["U-Net [224x224] CPU", "Exynos 7420"])
    assert df.loc["DeepLab V3 [513x513] GPU", "Size (MB)"] == pytest.approx(8.8)
    assert df.loc["U-Net [224x224] CPU", "Size (MB)"] == pytest.approx(25.4)


def test_groups_in_one_column_are_weighted_by_phones() -> None:
    df = tables.comparison_frame(
        [row(DEEPLAB, SD845, "cpu", 800.0, phones=1), row(DEEPLAB, SD845, "cpu", 900.0, phones=3)]
    )
    assert df.shape == (1, 2)
    assert df.iloc[0, 0] == pytest.approx((800 * 1 + 900 * 3) / 4)


def test_same_name_and_size_stay_two_rows() -> None:
    twin = {**DEEPLAB, "model_id": 7, "size_bytes": 4_200_000}
    df = tables.comparison_frame([row(DEEPLAB, SD845, "cpu", 800.0), row(twin, SD845, "cpu", 400.0)])
    assert list(df.index) == ["DeepLab V3 [513x513] CPU #1", "DeepLab V3 [513x513] CPU #7"]
    assert list(df["Size (MB)"]) == pytest.approx([8.8, 4.2])


def test_empty() -> None:
    df = tables.comparison_frame([])
    assert df.empty
    assert tables.to_markdown(df) == "|  | Size (MB) |\n|---|---|\n"


def test_markdown_matches_the_seed_form() -> None:
    rows = [
        row(DEEPLAB, SD625, "cpu", 2307.75),
        row(DEEPLAB, SD845, "cpu", 845.35),
        row(DEEPLAB, SD845, "gpu", 139.55),
    ]
    md = tables.to_markdown(tables.comparison_frame(rows))
    assert md == (
        "|  | Snapdragon 625 (4 GB RAM) | Snapdragon 845 (6 GB RAM) | Size (MB) |\n"
        "|---|---|---|---|\n"
        "| DeepLab V3 [513x513] CPU | 2307.75 | 845.35 | 8.80 |\n"
        "| DeepLab V3 [513x513] GPU | – | 139.55 | 8.80 |\n"
    )


def test_markdown_escapes_pipes() -> None:
    df = pd.DataFrame({"a|b": [1.0]}, index=["x|y"])
    assert tables.to_markdown(df).splitlines()[2] == "| x\\|y | 1.00 |"


def test_csv_round_trips() -> None:
    df = tables.comparison_frame(seed_rows())
    back = pd.read_csv(io.StringIO(tables.to_csv(df)), index_col="model")
    assert list(back.columns) == list(df.columns)
    assert back.loc["DeepLab V3 [513x513] CPU", "Exynos 7420"] == pytest.approx(2328.35)
    assert math.isnan(back.loc["DeepLab V3 [513x513] GPU", "Exynos 7420"])


def test_gpu_speedup_per_column() -> None:
    sp = tables.speedup_frame(seed_rows())
    assert list(sp.index) == ["DeepLab V3 [513x513] GPU speed-up over CPU"]
    assert sp.loc[sp.index[0], "Snapdragon 845 (6 GB RAM)"] == pytest.approx(845.35 / 139.55)
    assert sp.loc[sp.index[0], "Snapdragon 625 (4 GB RAM)"] == pytest.approx(2307.75 / 391.6)
    assert "Exynos 7420" not in sp.columns  # no GPU result there
    assert tables.speedup_frame([row(UNET, SD845, "cpu", 1.0)]).empty


def test_row_colours_green_fast_red_slow() -> None:
    df = tables.comparison_frame(
        [
            row(DEEPLAB, SD625, "cpu", 100.0),
            row(DEEPLAB, SD845, "cpu", 1000.0),
            row(DEEPLAB, EXY, "cpu", math.sqrt(100.0 * 1000.0)),  # halfway on a log scale
            row(UNET, SD845, "cpu", 5.0),
        ]
    )
    css = tables.row_colours(df)
    r = "DeepLab V3 [513x513] CPU"
    assert css.loc[r, "Snapdragon 625 (4 GB RAM)"] == "background-color: hsl(120, 70%, 82%)"
    assert css.loc[r, "Snapdragon 845 (6 GB RAM)"] == "background-color: hsl(0, 70%, 82%)"
    assert css.loc[r, "Exynos 7420"] == "background-color: hsl(60, 70%, 82%)"
    assert css.loc[r, "Size (MB)"] == ""
    u = "U-Net [224x224] CPU"
    assert css.loc[u, "Snapdragon 845 (6 GB RAM)"] == "background-color: hsl(120, 70%, 82%)"  # alone: green
    assert css.loc[u, "Snapdragon 625 (4 GB RAM)"] == ""  # no value, no colour


def test_labels() -> None:
    assert tables.row_label("IC-Net", [{"shape": [1, 256, 256, 3]}], "cpu") == "IC-Net [256x256] CPU"
    assert tables.input_label([{"shape": [1, 100]}]) == "[100]"
    assert tables.input_label([]) == ""
    assert tables.column_label("Snapdragon 845", True, 6.0, False) == "Snapdragon 845 (6 GB RAM)"
    assert tables.column_label("msm9999", False, None, False) == "unknown (msm9999)"
    assert tables.column_label(None, False, 1.5, True) == "unknown SoC (1.5 GB RAM) [virtual]"


@pytest.mark.parametrize(
    ("ram_mb", "nominal"),
    [
        (3768116 // 1024, 4.0),  # Pixel 3 MemTotal
        (2850728 // 1024, 3.0),  # Galaxy S6
        (1903776 // 1024, 2.0),
        (5740, 6.0),
        (7824160 // 1024, 8.0),
        (1024, 1.0),
        (40000, 40.0),
        (None, None),
        (0, None),
    ],
)
def test_nominal_ram(ram_mb: int | None, nominal: float | None) -> None:
    assert tables.nominal_ram_gb(ram_mb) == nominal


def test_sql_nominal_ram_matches_python() -> None:
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from server.dashboard.service import nominal_ram_gb_sql
    from server.devices.models import Device, FarmHost

    engine = create_engine("sqlite://")
    Device.metadata.tables["farm_hosts"].create(engine)
    Device.metadata.tables["devices"].create(engine)
    sizes = [None, 0, 400, 512, 513, 1000, 1900, 2783, 3679, 5740, 7640, 11500, 16384, 40000]
    with Session(engine) as db:
        db.add(FarmHost(id=1, name="h", queue="host.h"))
        db.add_all(Device(serial=f"s{i}", host_id=1, ram_mb=mb) for i, mb in enumerate(sizes))
        db.commit()
        got: dict[int | None, float | None] = dict(
            db.execute(select(Device.ram_mb, nominal_ram_gb_sql())).all()
        )
    assert got == {mb: tables.nominal_ram_gb(mb) for mb in sizes}
