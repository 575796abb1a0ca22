"""The notebook client and the farm's own processes share one HTTP helper: same errors, one line each."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from contracts.farm_http import FarmHttp
from tests.stack import free_port

PROBLEM = {
    "type": "about:blank",
    "title": "No phone matches",
    "status": 422,
    "detail": "No runnable phone has SoC 'Snapdragon 999'.",
    "available_socs": ["Snapdragon 845"],
}
POSTED: list[tuple[str, bytes]] = []


class _Farm(BaseHTTPRequestHandler):
    """A stand-in server answering what a farm (or a proxy in front of it) answers."""

    def do_GET(self) -> None:
        if self.path == "/api/v1/problem":
            self._send(422, "application/problem+json", json.dumps(PROBLEM).encode())
        elif self.path == "/api/v1/proxy":
            self._send(502, "text/html", b"<html>\n<h1>502 Bad Gateway</h1>\n</html>\n")
        elif self.path == "/api/v1/empty":
            self._send(204, "application/json", b"")
        else:
            seen = self.headers.get("Authorization", "")
            self._send(200, "application/json", json.dumps({"auth": seen}).encode())

    def do_POST(self) -> None:
        POSTED.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
        self._send(204, "application/json", b"")

    def _send(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def farm_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Farm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _clients(url: str, token: str = "pf_t") -> list[FarmHttp]:
    from contracts.settings import Settings
    from device_agent.api_client import FarmApi
    from phonefarm import Farm

    return [Farm(url, token), FarmApi(Settings(api_url=url, token=token))]


def test_both_clients_turn_a_problem_json_into_the_same_one_line_error(farm_url: str) -> None:
    from device_agent.api_client import ApiError
    from phonefarm import FarmError

    assert ApiError is FarmError  # what the agent, the worker and a notebook catch is one class
    for client in _clients(farm_url):
        assert client.get("/") == {"auth": "Bearer pf_t"}
        assert client.get("/empty") is None
        with pytest.raises(FarmError) as told:
            client.get("/problem")
        assert str(told.value) == "422 No phone matches: No runnable phone has SoC 'Snapdragon 999'."
        assert told.value.available_socs == ["Snapdragon 845"]
        with pytest.raises(FarmError) as proxy:
            client.get("/proxy")
        assert proxy.value.status == 502 and "\n" not in str(proxy.value)
        assert proxy.value.detail == "<html> <h1>502 Bad Gateway</h1> </html>"


def test_both_clients_say_a_farm_that_does_not_answer_is_unreachable() -> None:
    from phonefarm import FarmUnreachable

    url = f"http://127.0.0.1:{free_port()}"
    for client in _clients(url):
        with pytest.raises(FarmUnreachable) as told:
            client.get("/devices")
        assert told.value.detail == f"cannot reach the farm at {url} (ConnectError)"


def test_the_worker_waits_for_an_api_that_is_restarting() -> None:
    """Nothing answering is FarmUnreachable now, and the worker still retries it (a measured
    result is worth waiting for) rather than dropping the call."""
    from contracts.settings import Settings
    from worker.api_client import WorkerApi

    port = free_port()
    server: list[ThreadingHTTPServer] = []

    def come_back() -> None:  # the API is back a moment after the first attempt was refused
        time.sleep(0.2)
        server.append(ThreadingHTTPServer(("127.0.0.1", port), _Farm))
        server[0].serve_forever()

    threading.Thread(target=come_back, daemon=True).start()
    api = WorkerApi(Settings(api_url=f"http://127.0.0.1:{port}", token="pf_w"))
    try:
        api.capabilities("ab" * 32, "2.16.1", None)  # refused at first, then sent
        assert POSTED[-1][0] == f"/api/v1/binaries/{'ab' * 32}/capabilities"
    finally:
        while not server:
            time.sleep(0.05)
        server[0].shutdown()
        server[0].server_close()
