"""A worker's file cache keeps only what hashes right and stays under its size limit."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.runs import FileRef
from worker.cache import CorruptDownload, Fetch, FileCache


def ref(data: bytes) -> FileRef:
    return FileRef(sha256=hashlib.sha256(data).hexdigest(), size=len(data), path=f"/files/{len(data)}")


def serving(data: bytes, calls: list[str]) -> Fetch:
    def fetch(path: str) -> Iterator[bytes]:
        calls.append(path)
        yield data[:3]
        yield data[3:]

    return fetch


def test_a_file_is_fetched_once_then_served_from_the_cache(tmp_path: Path) -> None:
    cache, calls = FileCache(tmp_path, 1 << 20), list[str]()
    data = b"model bytes"
    first = cache.get(ref(data), serving(data, calls))
    again = cache.get(ref(data), serving(data, calls))
    assert first == again == tmp_path / ref(data).sha256
    assert first.read_bytes() == data and len(calls) == 1


def test_bytes_that_do_not_hash_right_are_refused_and_not_kept(tmp_path: Path) -> None:
    cache = FileCache(tmp_path, 1 << 20)
    wanted = b"the real model"
    with pytest.raises(CorruptDownload):
        cache.get(ref(wanted), serving(b"the fake model", []))
    with pytest.raises(CorruptDownload):
        cache.get(ref(wanted), serving(wanted + b"and more", []))
    assert list(tmp_path.iterdir()) == []


def test_the_least_recently_used_files_go_first_when_over_the_limit(tmp_path: Path) -> None:
    cache = FileCache(tmp_path, 250)
    a, b, c = (bytes([i]) * 100 for i in range(3))
    for data in (a, b):
        cache.get(ref(data), serving(data, []))
    old = time.time() - 60
    os.utime(cache.path(ref(a).sha256), (old, old))
    os.utime(cache.path(ref(b).sha256), (old + 1, old + 1))
    cache.get(ref(a), serving(a, []))  # a is used again: b is now the oldest
    cache.get(ref(c), serving(c, []))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([ref(a).sha256, ref(c).sha256])


def test_the_worker_imports_nothing_of_the_server() -> None:
    code = (
        "import sys, worker.tasks, worker.runner, worker.api_client, cli.main;"
        "print(sorted(m for m in sys.modules if m == 'server' or m.startswith('server.')))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
