"""A worker's content-addressed file cache: the API's files, fetched once, kept by sha256.

A farm host shares no disk with the API host: models (and benchmark binaries) come over
HTTP, are hashed while they arrive and kept only if the hash is the one the claim named.
The cache lives in the worker's own data dir and stays under a size limit by evicting the
least recently used files (a file's mtime is touched on each use).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from contracts.runs import FileRef

log = logging.getLogger("phonefarm.worker.cache")

Fetch = Callable[[str], Iterator[bytes]]
"""Streams the bytes at an API path."""


class CorruptDownload(RuntimeError):
    """What arrived is not the file the claim named (wrong hash or size)."""


class FileCache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, sha256: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(sha256, threading.Lock())

    def path(self, sha256: str) -> Path:
        return self.root / sha256

    def get(self, ref: FileRef, fetch: Fetch) -> Path:
        """The local copy of `ref`, downloaded and verified if it isn't here yet."""
        target = self.path(ref.sha256)
        with self._lock(ref.sha256):
            if target.is_file() and target.stat().st_size == ref.size:
                os.utime(target)  # most recently used
                return target
            self.root.mkdir(parents=True, exist_ok=True)
            self._download(ref, fetch, target)
        self.evict(keep=ref.sha256)
        return target

    def _download(self, ref: FileRef, fetch: Fetch, target: Path) -> None:
        digest = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in fetch(ref.path):
                    size += len(chunk)
                    if size > ref.size:
                        raise CorruptDownload(f"{ref.path} sent more than the {ref.size} bytes announced")
                    digest.update(chunk)
                    out.write(chunk)
            if size != ref.size or digest.hexdigest() != ref.sha256:
                raise CorruptDownload(
                    f"{ref.path}: got {size} bytes with sha256 {digest.hexdigest()[:12]}…, "
                    f"expected {ref.size} bytes with {ref.sha256[:12]}…"
                )
            os.replace(tmp, target)
            log.info("cached %s (%d bytes) from %s", ref.sha256[:12], size, ref.path)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def evict(self, keep: str | None = None) -> list[str]:
        """Drop least recently used files until the cache fits its limit. Returns what was dropped."""
        files = []
        for entry in self.root.iterdir() if self.root.is_dir() else []:
            if entry.name.startswith(".") or not entry.is_file():
                continue
            st = entry.stat()
            files.append((st.st_mtime, st.st_size, entry))
        total = sum(size for _, size, _ in files)
        dropped = []
        for _, size, entry in sorted(files, key=lambda f: f[0]):
            if total <= self.max_bytes:
                break
            if entry.name == keep:
                continue
            entry.unlink(missing_ok=True)
            total -= size
            dropped.append(entry.name)
        if dropped:
            log.info("cache over %d bytes: evicted %s", self.max_bytes, [d[:12] for d in dropped])
        return dropped
