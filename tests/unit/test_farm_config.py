"""Where the farm is: the config file `farm up` writes, read after the environment."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from contracts.farm_config import read_config, write_config
from contracts.logs import JsonFormatter, TextFormatter, wants_json
from contracts.settings import Settings


def test_settings_read_the_recorded_farm_after_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    monkeypatch.setenv("FARM_CONFIG", str(config))
    for key in ("FARM_API_URL", "FARM_DATA_DIR", "FARM_TOKEN_FILE"):
        monkeypatch.delenv(key, raising=False)
    write_config({"api_url": "http://127.0.0.1:8200", "data_dir": str(tmp_path / "d"), "token_file": "/t"})
    settings = Settings()
    assert settings.api_url == "http://127.0.0.1:8200"
    assert settings.data_dir == tmp_path / "d" and settings.token_file == Path("/t")
    monkeypatch.setenv("FARM_API_URL", "http://elsewhere:1")
    assert Settings().api_url == "http://elsewhere:1"


def test_the_data_dir_does_not_depend_on_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FARM_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("FARM_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.chdir(tmp_path)
    assert Settings().data_dir == tmp_path / "share" / "phonefarm"


def test_a_broken_config_file_is_an_empty_one(tmp_path: Path) -> None:
    bad = tmp_path / "c.toml"
    bad.write_text("api_url = [unclosed")
    assert read_config(bad) == {}
    assert read_config(tmp_path / "missing.toml") == {}


def test_writing_merges_and_quotes(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    write_config({"api_url": "http://a:1"}, path)
    write_config({"data_dir": 'C:\\farm "x"', "unknown": "dropped"}, path)
    assert read_config(path) == {"api_url": "http://a:1", "data_dir": 'C:\\farm "x"'}


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_logs_are_text_on_a_terminal_and_json_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FARM_LOG_FORMAT", raising=False)
    assert not wants_json(FakeTty()) and wants_json(io.StringIO())
    monkeypatch.setenv("FARM_LOG_FORMAT", "json")
    assert wants_json(FakeTty())
    monkeypatch.setenv("FARM_LOG_FORMAT", "text")
    assert not wants_json(io.StringIO())


def test_the_text_format_is_one_short_line_with_the_run_context() -> None:
    record = logging.LogRecord(
        "phonefarm.agent", logging.INFO, __file__, 1, "phone %s is online", ("x",), None
    )
    record.run_id = 7
    line = TextFormatter().format(record)
    assert line.endswith("INFO  agent: phone x is online  run=7")
    assert '"run_id": 7' in JsonFormatter().format(record)
