"""All of PhoneFarm's settings, in one place.

Every process (API, worker, agent, CLI) reads the same `Settings` from `FARM_*`
environment variables, so the embedded farm (SQLite file + SQLite broker) and a
production farm (Postgres + Redis) differ only by URLs, never by code.
"""

from __future__ import annotations

import socket
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from contracts.farm_config import default_data_dir, read_config


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FARM_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Where the embedded database, broker and models live (default ~/.local/share/phonefarm)",
    )
    database_url: str = Field("", description="SQLAlchemy URL; default: SQLite file in data_dir")
    broker_url: str = Field("", description="Celery broker URL; default: SQLite broker file in data_dir")
    broker_prefix: str = Field(
        "", description="Prefix of every broker key (Redis): farms sharing one Redis stay apart"
    )
    api_url: str = Field("http://127.0.0.1:8000", description="Where agents and the CLI reach the API")
    token: str = Field("", description="API token used by the CLI and agents")
    token_file: Path | None = Field(
        None, description="File holding the API token when FARM_TOKEN is unset (farm up records its own)"
    )
    public_read: bool = Field(True, description="Let callers without a token read public models and results")

    host_name: str = Field(default_factory=socket.gethostname, description="This farm host's name")
    adb_host: str = "127.0.0.1"
    adb_port: int = Field(5037, description="Port of this host's adb server")

    max_upload_mb: int = Field(256, description="Largest model file accepted, in MiB")
    api_max_connections: int = Field(
        512, ge=1, description="Connections the API serves at once; more get a 503 (server/serving.py)"
    )
    max_attempts: int = Field(3, description="Attempts per run before it is failed")
    run_timeout_s: float = Field(600.0, description="Wall-clock limit of one benchmark_model invocation")
    benchmark_binary: Path | None = Field(
        None,
        description="Shortcut: a benchmark_model file registered (ABI from its ELF header) at start-up",
    )
    heartbeat_s: float = Field(5.0, description="Agent heartbeat period")
    offline_after_s: float = Field(20.0, description="A host silent this long has its phones marked offline")
    stale_run_s: float = Field(
        30.0, description="A running run silent this long lost its worker: it is requeued"
    )
    redispatch_s: float = Field(
        30.0, description="A queued run not picked up this long is sent to the broker again"
    )
    log_format: str = Field(
        "auto",
        description="auto (text on a terminal, JSON otherwise), text or json",
        pattern="^(auto|text|json)$",
    )
    log_level: str = Field("INFO", description="DEBUG also shows third-party libraries' chatter")
    quarantine_after: int = Field(5, description="Consecutive failed runs that quarantine a phone")
    cache_max_mb: int = Field(
        2048, description="Size limit of a worker's file cache (models, binaries) in data_dir/cache"
    )
    metrics_token: str = Field(
        "", description="Bearer token Prometheus sends to /metrics (admin API tokens work too)"
    )
    max_queued_runs_per_user: int = Field(
        2000, description="Queued or running runs one user may have at once (more: 429)"
    )
    max_runs_per_job: int = Field(512, description="Runs (phones x delegates x threads) one job may create")
    virtual_process_mb: int = Field(
        2048,
        description="Most memory a virtual phone's benchmark_model may use, in MiB: its interpreter "
        "process gets the smaller of this and half the profile's RAM, then the low-memory killer kills it",
    )
    run_budget_s: float = Field(
        3600.0, description="Least time one run (all its trials) may need; a longer spec is refused"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # after the environment: the config file `farm up` writes (contracts/farm_config.py)
        recorded = InitSettingsSource(settings_cls, init_kwargs=read_config())
        return init_settings, env_settings, dotenv_settings, recorded, file_secret_settings

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'farm.db').resolve()}"

    @property
    def celery_broker_url(self) -> str:
        return self.broker_url or f"sqla+sqlite:///{(self.data_dir / 'broker.db').resolve()}"

    @property
    def model_store(self) -> Path:
        return self.data_dir / "models"

    @property
    def cache_dir(self) -> Path:
        """A worker's content-addressed copies of the API's files (never the API's own store)."""
        return self.data_dir / "cache"

    @property
    def binary_store(self) -> Path:
        return self.data_dir / "binaries"

    @property
    def is_embedded(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
