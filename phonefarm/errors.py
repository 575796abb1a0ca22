"""What can go wrong talking to a farm, as exceptions a notebook or the CLI can explain.

They are defined with the HTTP helper every farm client shares (contracts/farm_http.py), so
the farm's own processes raise the very same ones; `from phonefarm import FarmError` stays.
"""

from __future__ import annotations

from contracts.farm_http import FarmError, FarmUnreachable

__all__ = ["FarmError", "FarmUnreachable"]
