"""The seed project's comparison table, built from aggregated rows with pandas.

Why a pure module: the pivot (rows = "model [HxW] delegate", columns = SoC with RAM,
cells = mean latency in ms, plus the model's size) is what people copy into their
READMEs, so it must be exact; keeping it free of the database and of HTML lets unit
tests check it cell by cell, and the HTML page, the CSV and the Markdown export all
show the same frame. Markdown is written by hand so no `tabulate` dependency is needed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from contracts.vocabulary import soc_label

SIZE_COLUMN = "Size (MB)"
DELEGATE_ORDER = ("cpu", "gpu", "nnapi", "xnnpack")
# marketing RAM sizes: MemTotal is what is left after the kernel's reservations, always a bit less
NOMINAL_RAM_GB = (0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 18, 24, 32)
MISSING = "–"


def nominal_ram_gb(ram_mb: int | None) -> float | None:
    """The marketing size (6 for a phone whose MemTotal is 5.6 GiB); the SQL in service.py mirrors it."""
    if not ram_mb or ram_mb <= 0:
        return None
    gib = ram_mb / 1024
    return float(next((g for g in NOMINAL_RAM_GB if g >= gib), math.ceil(gib)))


def ram_label(ram_gb: float | None) -> str | None:
    """'6 GB RAM' from a nominal size in GB (the seed wrote 'Gb', gigabits); None if unknown."""
    if not ram_gb or ram_gb <= 0:
        return None
    return f"{ram_gb:g} GB RAM"


def column_label(soc_name: str | None, soc_known: bool, ram_gb: float | None, is_virtual: bool) -> str:
    """'Snapdragon 845 (6 GB RAM)', with ' [virtual]' for virtual phones."""
    label = soc_label(soc_name, soc_known)
    ram = ram_label(ram_gb)
    if ram:
        label += f" ({ram})"
    if is_virtual:
        label += " [virtual]"
    return label


def input_label(inputs: Sequence[Mapping[str, Any]] | None) -> str:
    """'[513x513]' from the first input tensor's NHWC shape; '[1x100]'-style for other ranks."""
    if not inputs:
        return ""
    shape = [int(d) for d in inputs[0].get("shape") or []]
    if len(shape) == 4:
        dims = shape[1:3]  # NHWC: height x width
    elif len(shape) >= 2:
        dims = shape[1:]
    else:
        dims = shape
    return "[" + "x".join(str(d) for d in dims) + "]" if dims else ""


def model_label(name: str, inputs: Sequence[Mapping[str, Any]] | None) -> str:
    size = input_label(inputs)
    return f"{name} {size}" if size else name


def row_label(name: str, inputs: Sequence[Mapping[str, Any]] | None, delegate: str) -> str:
    """'DeepLab V3 [513x513] CPU'."""
    return f"{model_label(name, inputs)} {delegate.upper()}"


def _delegate_rank(delegate: str) -> int:
    return DELEGATE_ORDER.index(delegate) if delegate in DELEGATE_ORDER else len(DELEGATE_ORDER)


_FRAME_COLUMNS = (
    "model_id",
    "model",
    "row",
    "delegate_rank",
    "delegate",
    "column",
    "virtual",
    "phones",
    "avg_ms",
    "size_mb",
)


def _frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One line per (model, delegate, column) with the phone-weighted mean latency in ms.

    Labels are computed once per model and per column, not once per input row: all 100
    models give ~8,000 rows but only 100 model labels and ~20 column labels.
    """
    data: dict[str, list[Any]] = {c: [] for c in _FRAME_COLUMNS}
    models: dict[tuple[int, str], str] = {}
    labels: dict[tuple[int, str, str], tuple[str, str, int]] = {}
    columns: dict[tuple[Any, bool, Any, bool], str] = {}
    for r in rows:
        model_id = int(r["model_id"])
        name = str(r["model"])
        delegate = str(r["delegate"])
        virtual = bool(r.get("is_virtual"))
        label = labels.get((model_id, name, delegate))
        if label is None:
            model = models.get((model_id, name))
            if model is None:
                model = models[(model_id, name)] = model_label(name, r.get("inputs"))
            label = labels[(model_id, name, delegate)] = (
                model,
                f"{model} {delegate.upper()}",
                _delegate_rank(delegate),
            )
        model, row, rank = label
        col_key = (r.get("soc_name"), bool(r.get("soc_known", True)), r.get("ram_gb"), virtual)
        column = columns.get(col_key)
        if column is None:
            column = columns[col_key] = column_label(*col_key)
        data["model_id"].append(model_id)
        data["model"].append(model)
        data["row"].append(row)
        data["delegate_rank"].append(rank)
        data["delegate"].append(delegate)
        data["column"].append(column)
        data["virtual"].append(virtual)
        data["phones"].append(int(r.get("phones") or 1))
        data["avg_ms"].append(float(r["avg_us"]) / 1000.0)
        data["size_mb"].append(float(r.get("size_bytes") or 0) / 1e6)
    df = pd.DataFrame(data, columns=list(_FRAME_COLUMNS))
    if df.empty:
        return df
    # two models with the same name and input size stay two rows
    dup = df.groupby("row")["model_id"].transform("nunique") > 1
    df.loc[dup, "row"] = df.loc[dup, "row"] + " #" + df.loc[dup, "model_id"].astype(str)
    dup_m = df.groupby("model")["model_id"].transform("nunique") > 1
    df.loc[dup_m, "model"] = df.loc[dup_m, "model"] + " #" + df.loc[dup_m, "model_id"].astype(str)
    df["weighted"] = df["avg_ms"] * df["phones"]
    return df


def _column_order(df: pd.DataFrame) -> list[str]:
    cols = df[["column", "virtual"]].drop_duplicates().sort_values(["virtual", "column"])
    return list(cols["column"])


def result_frame(rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """The labelled rows both tables start from; build it once when a page shows both."""
    return rows if isinstance(rows, pd.DataFrame) else _frame(rows)


def comparison_frame(rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Rows 'name [HxW] DELEGATE', one column per SoC (and RAM), cells = mean ms, then 'Size (MB)'.

    Each input row is one (model, delegate, SoC, RAM, virtual) group as the database
    aggregated it: keys model_id, model, inputs, size_bytes, delegate, soc_name, soc_known,
    ram_gb (nominal, see nominal_ram_gb), is_virtual, avg_us (mean over the group's phones
    of each phone's mean) and phones (how many phones). Groups that land in the same column
    are merged weighting by phones. A frame from result_frame is accepted in place of rows.
    """
    df = result_frame(rows)
    if df.empty:
        return pd.DataFrame(columns=[SIZE_COLUMN], dtype=float)
    grouped = df.groupby(["row", "column"], as_index=False)[["weighted", "phones"]].sum()
    grouped["ms"] = grouped["weighted"] / grouped["phones"]
    table = grouped.pivot(index="row", columns="column", values="ms")
    order = df.drop_duplicates("row").sort_values(["model_id", "delegate_rank", "row"])
    table = table.reindex(index=list(order["row"]), columns=_column_order(df))
    sizes = order.set_index("row")["size_mb"]
    table[SIZE_COLUMN] = sizes.reindex(table.index).astype(float)
    table.index.name = None
    table.columns.name = None
    return table.astype(float)


def speedup_frame(
    rows: Iterable[Mapping[str, Any]] | pd.DataFrame, fast: str = "gpu", base: str = "cpu"
) -> pd.DataFrame:
    """Per model and column: base ms / fast ms (2.0 = the GPU is twice as fast as the CPU)."""
    df = result_frame(rows)
    if df.empty:
        return pd.DataFrame(dtype=float)
    grouped = df.groupby(["model_id", "model", "delegate", "column"], as_index=False)[
        ["weighted", "phones"]
    ].sum()
    grouped["ms"] = grouped["weighted"] / grouped["phones"]
    wide = grouped.pivot_table(index=["model_id", "model", "column"], columns="delegate", values="ms")
    if fast not in wide.columns or base not in wide.columns:
        return pd.DataFrame(dtype=float)
    ratio = (wide[base] / wide[fast]).dropna().rename("speedup").reset_index()
    if ratio.empty:
        return pd.DataFrame(dtype=float)
    table = ratio.pivot(index="model", columns="column", values="speedup")
    models = ratio.drop_duplicates("model").sort_values("model_id")["model"]
    cols = [c for c in _column_order(df) if c in table.columns]
    table = table.reindex(index=list(models), columns=cols)
    table.index = [f"{m} {fast.upper()} speed-up over {base.upper()}" for m in table.index]
    table.columns.name = None
    return table.astype(float)


def row_colours(table: pd.DataFrame) -> pd.DataFrame:
    """CSS background per latency cell: green = fastest of its row, red = slowest (log scale)."""
    latency = [c for c in table.columns if c != SIZE_COLUMN]
    out = pd.DataFrame("", index=table.index, columns=table.columns)
    if table.empty or not latency:
        return out
    values = table[latency].astype(float)
    logs = np.log(values.where(values > 0))
    lo, hi = logs.min(axis=1), logs.max(axis=1)
    span = (hi - lo).where(hi > lo)
    position = logs.sub(lo, axis=0).div(span, axis=0)
    position = position.where(span.notna().to_numpy()[:, None] | logs.isna(), 0.0)  # one value: green
    hue = (120 * (1 - position)).round()
    out[latency] = hue.map(lambda h: "" if pd.isna(h) else f"background-color: hsl({int(h)}, 70%, 82%)")
    return out


def speedup_colours(table: pd.DataFrame) -> pd.DataFrame:
    """Green where the GPU is faster (ratio > 1), red where it is slower."""
    values = table.to_numpy(dtype=float)
    css = np.where(
        np.isnan(values),
        "",
        np.where(values >= 1, "background-color: hsl(120, 70%, 82%)", "background-color: hsl(0, 70%, 82%)"),
    )
    return pd.DataFrame(css.astype(object), index=table.index, columns=table.columns)


def format_cell(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table_cells(
    table: pd.DataFrame, styles: pd.DataFrame, prefix: str = "", digits: int = 2
) -> list[tuple[str, list[tuple[str, str]]]]:
    """(row label, [(text, css)]) for the HTML template, formatted the way the Markdown export is."""
    rows = []
    style_values = styles.reindex(index=table.index, columns=table.columns).fillna("").to_numpy()
    values = table.to_numpy(dtype=float)
    for label, row, css in zip(table.index, values.tolist(), style_values.tolist(), strict=True):
        cells = []
        for v, c in zip(row, css, strict=True):
            text = MISSING if math.isnan(v) else f"{prefix}{v:.{digits}f}"
            cells.append((text, str(c)))
        rows.append((str(label), cells))
    return rows


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(df: pd.DataFrame, corner: str = "", digits: int = 2) -> str:
    """A GitHub Markdown table like the seed README's: empty corner cell, index as first column."""
    header = [corner, *[str(c) for c in df.columns]]
    lines = [
        "| " + " | ".join(_md_escape(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for label, row in df.iterrows():
        cells = [_md_escape(str(label)), *[_md_escape(format_cell(v, digits)) for v in row]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_csv(df: pd.DataFrame, index_label: str = "model") -> str:
    from server.api import csv_cells  # names from users and phones must not run as formulas

    return str(csv_cells.frame(df).to_csv(index_label=index_label, float_format="%.3f"))
