"""The real server (uvicorn, as deployed) against raw sockets: no body is read before the
token is checked, and a chunked body stops at the limit."""

from __future__ import annotations

import socket

import pytest

from tests.stack import FarmStack

pytestmark = pytest.mark.integration


def _status(sock: socket.socket) -> bytes:
    sock.settimeout(15)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0]


def test_a_chunked_body_without_a_token_is_answered_401_before_a_byte_of_it_arrives(prod: FarmStack) -> None:
    prod.start_api()
    for path, kind in (
        (b"/api/v1/benchmarks", b"application/json"),
        (b"/api/v1/models", b"multipart/form-data; boundary=x"),  # once spooled 1.5 GB to disk
    ):
        with socket.create_connection(("127.0.0.1", prod.api_port)) as sock:
            sock.sendall(
                b"POST " + path + b" HTTP/1.1\r\nHost: farm\r\nContent-Type: " + kind + b"\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            assert b" 401 " in _status(sock)  # answered although no body was sent


def test_a_chunked_body_over_the_limit_is_stopped_with_413(prod: FarmStack) -> None:
    prod.start_api()
    with socket.create_connection(("127.0.0.1", prod.api_port)) as sock:
        sock.sendall(
            b"POST /api/v1/benchmarks HTTP/1.1\r\nHost: farm\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + prod.token.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"%x\r\n%s\r\n" % (64 << 10, b" " * (64 << 10))
        sent = 0
        try:
            for _ in range(400 * 16):  # 400 MB if the server kept reading
                sock.sendall(chunk)
                sent += 64 << 10
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert b" 413 " in _status(sock)
        assert sent < 64 << 20  # it stopped reading long before
