"""Where is my farm: the small file `farm up` writes and every `farm` command reads.

`farm up --port 8200` records the URL it serves, its data directory and the path of its
admin token in `~/.config/phonefarm/config.toml` (or `$FARM_CONFIG`). Settings read it
after the environment, so the CLI, the notebook client and `farm token create` find the
farm from any directory without further settings, and `FARM_*` variables still win.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

KEYS = ("api_url", "data_dir", "token_file")


def config_path() -> Path:
    explicit = os.environ.get("FARM_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "phonefarm" / "config.toml"


def default_data_dir() -> Path:
    """The farm's data when neither FARM_DATA_DIR nor the config says: per user, not per directory."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "phonefarm"


def read_config(path: Path | None = None) -> dict[str, Any]:
    """The recorded keys; an unreadable or missing file is an empty config, never a crash."""
    path = path or config_path()
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}
    return {k: str(data[k]) for k in KEYS if isinstance(data.get(k), str | int | float)}


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(values: dict[str, str], path: Path | None = None) -> Path:
    """Record where the farm is (merging with what is there); returns the file written."""
    path = path or config_path()
    merged = {**read_config(path), **{k: v for k, v in values.items() if k in KEYS}}
    lines = ["# Written by `farm up`: where the farm is. FARM_* environment variables override it."]
    lines += [f"{k} = {_quote(str(v))}" for k, v in merged.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)
    return path
