"""Results as pandas frames: one row per run, and the seed project's pivot one call away."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from contracts.labels import unique_phone_labels

RESULT_COLUMNS = [
    "job_id",
    "run_id",
    "device_id",
    "phone",
    "soc",
    "delegate",
    "threads",
    "state",
    "avg_ms",
    "median_ms",
    "min_ms",
    "max_ms",
    "std_ms",
    "init_ms",
    "cv",
    "unstable",
    "mem_peak_mb",
    "error",
]


def phone_labels(devices: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """'Pixel 3' per phone id, or 'Pixel 3 · :5555' when two phones share a model (short serial)."""
    return unique_phone_labels((int(d["id"]), d.get("model"), str(d["serial"]), False) for d in devices)


def _ms(result: Mapping[str, Any], key: str) -> float | None:
    value = result.get(key)
    return float(value) / 1000.0 if value is not None else None


def results_frame(job: Mapping[str, Any], devices: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per run of a job (failed runs too, with their error), latencies in ms."""
    devices = list(devices)
    labels = phone_labels(devices)
    socs = {int(d["id"]): d.get("soc_name") or d.get("soc_codename") for d in devices}
    rows = []
    for run in job.get("runs", []):
        res = run.get("result") or {}
        dev = int(run["device_id"])
        rows.append(
            {
                "job_id": job["id"],
                "run_id": run["id"],
                "device_id": dev,
                "phone": labels.get(dev, f"device {dev}"),
                "soc": socs.get(dev),
                "delegate": run["delegate"],
                "threads": run["threads"],
                "state": run["state"],
                "avg_ms": _ms(res, "avg_us"),
                "median_ms": _ms(res, "median_us"),
                "min_ms": _ms(res, "min_us"),
                "max_ms": _ms(res, "max_us"),
                "std_ms": _ms(res, "std_us"),
                "init_ms": _ms(res, "init_us"),
                "cv": res.get("cv"),
                "unstable": res.get("unstable"),
                "mem_peak_mb": res.get("mem_peak_mb"),
                "error": run.get("error"),
            }
        )
    return pd.DataFrame.from_records(rows, columns=RESULT_COLUMNS)


def seed_table(results: pd.DataFrame, model: str = "") -> pd.DataFrame:
    """The seed README's pivot: rows 'model DELEGATE', one column per SoC, cells = mean ms."""
    ok = results.dropna(subset=["avg_ms"])
    if ok.empty:
        return pd.DataFrame(dtype=float)
    ok = ok.assign(
        row=(model + " " if model else "") + ok["delegate"].str.upper(),
        column=ok["soc"].fillna("unknown SoC"),
    )
    table = ok.pivot_table(index="row", columns="column", values="avg_ms", aggfunc="mean")
    table.index.name = None
    table.columns.name = None
    return table
