"""How the API process is served: connection, header and idle limits in one place.

Why: about 20k half-open connections once exhausted the API's file descriptors and the
agents' heartbeats went unanswered. uvicorn refuses connections past `limit_concurrency`
with a 503, drops idle keep-alive connections after `timeout_keep_alive` seconds, and (with
the h11 protocol) refuses a header block larger than `h11_max_incomplete_event_size`.
Slow-body (slowloris) timeouts are the reverse proxy's job (deploy/nginx.conf): uvicorn
has no body read timeout. `farm api`, `farm up` and the compose file all serve through
these options.
"""

from __future__ import annotations

from typing import Any

from contracts.settings import get_settings


def options() -> dict[str, Any]:
    """uvicorn keyword arguments: the connection cap comes from FARM_API_MAX_CONNECTIONS."""
    return {
        "http": "h11",
        "limit_concurrency": get_settings().api_max_connections,
        "backlog": 256,
        "timeout_keep_alive": 5,
        "h11_max_incomplete_event_size": 16 * 1024,
    }


def uvicorn_args() -> list[str]:
    """The same options as uvicorn command-line flags (for processes started with -m uvicorn)."""
    args: list[str] = []
    for key, value in options().items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return args
