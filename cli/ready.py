"""What `farm up` tells the person who started it: where the farm is, in one block.

Written to the config file too (contracts/farm_config.py), so every later `farm` command
and `phonefarm.Farm()` find this farm from any directory.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from contracts.farm_config import config_path, write_config


def record(url: str, data_dir: Path, token_file: Path) -> Path:
    """Remember where this farm is for the CLI and notebooks; returns the config file's path."""
    return write_config(
        {"api_url": url, "data_dir": str(data_dir.resolve()), "token_file": str(token_file.resolve())}
    )


def online_phones(url: str, token: str, expected: int, timeout: float = 30.0) -> int:
    """Phones online once `expected` are (or the timeout passes): the agent registers them in seconds."""
    deadline = time.monotonic() + timeout
    online = 0
    while True:
        try:
            resp = httpx.get(f"{url}/api/v1/devices", headers={"Authorization": f"Bearer {token}"}, timeout=5)
            if resp.status_code == 200:
                online = sum(1 for d in resp.json() if d.get("state") in ("online", "busy"))
        except httpx.HTTPError:
            pass
        if online >= max(expected, 1) or time.monotonic() > deadline:
            return online
        time.sleep(0.5)


def ready_block(url: str, token_file: Path, phones: int, config: Path | None = None) -> str:
    config = config or config_path()
    lines = [
        "",
        "PhoneFarm is up",
        f"  dashboard   {url}/",
        f"  API docs    {url}/docs",
        f"  phones      {phones} online  (farm devices)",
        f"  admin token {token_file}",
        f"  config      {config}  (farm commands and phonefarm.Farm() read it)",
        "  stop        Ctrl-C",
        "",
    ]
    return "\n".join(lines)
