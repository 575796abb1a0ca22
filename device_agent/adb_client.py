"""The farm's adb client: it talks to the adb server on FARM_ADB_PORT and never starts another.

Why: adbutils answers a refused connection by running `adb start-server` with no port, so
any farm process that asked a stopped server anything (a heartbeat during shutdown, a
doctor check, a worker while the agent restarts adb) left an adb server on 5037 that the
farm neither sees nor stops. Starting the host's adb server is the agent's and `farm up`'s
job, on the configured port (`device_agent.agent.start_adb_server`); everyone else gets a
clear connection error (adbutils.AdbConnectionError / AdbTimeout, both AdbError).
"""

from __future__ import annotations

import socket

from adbutils import AdbClient, AdbConnection


class _NoStartConnection(AdbConnection):
    def _safe_connect(self) -> socket.socket:
        return self._create_socket()


class FarmAdbClient(AdbClient):
    def __init__(
        self, host: str = "127.0.0.1", port: int = 5037, socket_timeout: float | None = None
    ) -> None:
        super().__init__(host=host, port=port, socket_timeout=socket_timeout)
        self._socket_timeout = socket_timeout

    def make_connection(self, timeout: float | None = None) -> AdbConnection:
        conn = _NoStartConnection(self.host, self.port)
        if timeout := timeout or self._socket_timeout:
            conn.conn.settimeout(timeout)
        return conn
