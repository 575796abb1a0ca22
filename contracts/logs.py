"""Logs carrying the job and run ids in context: readable lines on a terminal, JSON elsewhere.

A farm's logs come from many processes at once; with `job_id`/`run_id` on every line a
failed run's story can be pulled out of all of them with one grep. Collectors get one
JSON object per line (stderr not a TTY, or FARM_LOG_FORMAT=json); a person at `farm up`
gets short lines, without the chatter of third-party libraries (QUIET, at WARNING unless
FARM_LOG_LEVEL=DEBUG).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_context: ContextVar[dict[str, Any]] = ContextVar("phonefarm_log_context", default={})  # noqa: B039


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in CONTEXT_KEYS:
            if hasattr(record, key):
                body[key] = getattr(record, key)
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str)


CONTEXT_KEYS = ("job_id", "run_id", "device", "host")

QUIET = (
    "alembic",
    "device_agent.virtual.transport",  # one line per adb stream
    "adbutils",
    "amqp",
    "celery",
    "httpcore",
    "httpx",  # one line per agent heartbeat
    "kombu",
    "multipart",
    "urllib3",
    "uvicorn.access",
)


class TextFormatter(logging.Formatter):
    """'12:04:05 INFO  agent: phone 127.0.0.1:5555 is online  job=3 run=7' for people."""

    def format(self, record: logging.LogRecord) -> str:
        name = record.name.removeprefix("phonefarm.")
        line = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<5} {name}: {record.getMessage()}"
        context = [
            f"{k.removesuffix('_id')}={getattr(record, k)}" for k in CONTEXT_KEYS if hasattr(record, k)
        ]
        if context:
            line += "  " + " ".join(context)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def wants_json(stream: object = None, choice: str | None = None) -> bool:
    """JSON unless a person is watching: FARM_LOG_FORMAT=json|text decides, else whether stderr is a TTY."""
    if choice is None:
        from contracts.settings import Settings

        choice = Settings().log_format
    if choice in ("json", "text"):
        return choice == "json"
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    return not (callable(isatty) and isatty())


def setup(level: str | None = None) -> None:
    from contracts.settings import Settings

    settings = Settings()
    level = (level or settings.log_level).upper()
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if wants_json(handler.stream, settings.log_format) else TextFormatter()
    )
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if level != "DEBUG":
        for name in QUIET:
            logging.getLogger(name).setLevel(logging.WARNING)
