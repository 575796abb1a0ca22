"""A worker's wait on a phone is bounded: a push to a phone that never answers fails, it does not
hold the run (heartbeating, so never taken back) for ever. adbutils opens its sync connections
with no timeout at all; the worker's adb client gives every connection the run timeout."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from contracts.settings import get_settings


@pytest.fixture
def silent_adb_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """Accepts connections (the kernel does) and never answers a byte: a wedged adb server or phone."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        monkeypatch.setenv("FARM_ADB_PORT", str(port))
        monkeypatch.setenv("FARM_RUN_TIMEOUT_S", "1")
        get_settings.cache_clear()
        yield port
    get_settings.cache_clear()


def test_a_push_to_a_phone_that_never_answers_fails_within_the_run_timeout(silent_adb_server: int) -> None:
    from worker.runner import _adb

    outcome: list[BaseException | None] = []

    def push() -> None:
        try:
            _adb().device("emulator-5554").sync.push(b"model bytes", "/data/local/tmp/m.tflite")
            outcome.append(None)
        except BaseException as exc:  # what the run's settle() gets
            outcome.append(exc)

    thread = threading.Thread(target=push, daemon=True)
    thread.start()
    thread.join(60)  # the run timeout is 1 s: generous for a loaded machine
    assert not thread.is_alive(), "the push still waits on a phone that never answers"
    (exc,) = outcome
    assert isinstance(exc, OSError | EOFError) or type(exc).__name__.startswith("Adb"), repr(exc)
