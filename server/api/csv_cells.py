"""CSV cells that a spreadsheet will not run as formulas.

Why: phone names, model names and tags come from users and phones; a cell starting with
`=`, `+`, `-`, `@` (or a tab/CR) is executed by Excel, LibreOffice and Google Sheets when
the CSV is opened (OWASP "CSV injection"). Text cells that start so get a leading `'`,
which spreadsheets show as plain text; numbers are left as numbers.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def row(values: dict[str, Any]) -> dict[str, Any]:
    return {k: cell(v) for k, v in values.items()}


def frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell, column name and index label neutralised."""
    out = df.map(cell) if hasattr(df, "map") else df.applymap(cell)
    out.columns = [cell(c) for c in out.columns]
    out.index = [cell(i) for i in out.index]
    return out
