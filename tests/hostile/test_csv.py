"""Comparison CSVs from the dashboard neutralise names that spreadsheets would run."""

from __future__ import annotations

import pandas as pd

from server.dashboard import tables


def test_compare_csv_never_starts_a_cell_with_a_formula() -> None:
    df = pd.DataFrame({"=phone()": [1.5, -2.0], "@tag": ["-x", "ok"]}, index=["+model", "fine"])
    text = tables.to_csv(df)
    cells = [c for line in text.splitlines() for c in line.split(",")]
    assert not any(c.startswith(("=", "+", "@")) for c in cells), text
    assert "-2.000" in text  # numbers stay numbers
