"""Downloading TensorFlow Lite's prebuilt benchmark_model: catalog, resume, sha256 check.

Why a catalog file: the published locations and the known checksums are data that changes
with releases, reviewed like code (cli/data/benchmark_binaries.toml). A download resumes
from its `.part` file with an HTTP Range request (a 200 answer restarts it), is checked
against the catalog's sha256 when one is known (a mismatch deletes it: nothing is
registered), and is registered only once complete.
"""

from __future__ import annotations

import hashlib
import shutil
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx

from contracts.vocabulary import Abi

CATALOG = Path(__file__).with_name("data") / "benchmark_binaries.toml"
CHUNK = 1 << 16
MAX_BYTES = 512 << 20
RETRIES = 3

Progress = Callable[[int, int | None], None]
"""Called with (bytes so far, total bytes or None)."""


class FetchError(RuntimeError):
    """A download that cannot complete; the message says what to do."""


@dataclass(frozen=True)
class Entry:
    version: str
    abi: str
    flex: bool
    url: str
    sha256: str

    @property
    def filename(self) -> str:
        return Path(urlparse(self.url).path).name


def load_catalog(path: Path = CATALOG) -> list[Entry]:
    data = tomllib.loads(path.read_text())
    out = []
    for row in data.get("binary", []):
        out.append(
            Entry(
                version=str(row["version"]),
                abi=Abi(row["abi"]).value,
                flex=bool(row.get("flex", False)),
                url=str(row["url"]),
                sha256=str(row.get("sha256", "")).lower(),
            )
        )
    return out


def select(entries: list[Entry], version: str, abis: list[str], flex: bool) -> list[Entry]:
    """The entries to fetch; a version or ABI the catalog lacks is an error naming what it has."""
    versions = sorted({e.version for e in entries})
    if version not in versions:
        raise FetchError(f"version {version!r} is not in the catalog ({', '.join(versions)}): see {CATALOG}")
    mine = [e for e in entries if e.version == version and e.flex == flex]
    have = sorted({e.abi for e in mine})
    missing = [a for a in abis if a not in have]
    if missing:
        raise FetchError(
            f"no published {'Flex ' if flex else ''}build of version {version} for {', '.join(missing)} "
            f"(the catalog has {', '.join(have) or 'none'}): build benchmark_model for it with bazel "
            "(//tensorflow/lite/tools/benchmark:benchmark_model) and 'farm binary add PATH'"
        )
    return [e for e in mine if e.abi in abis] if abis else mine


def source_of(entry: Entry, mirror: str | None) -> str:
    """The entry's URL, or its file name under a mirror (an http(s) base URL or a directory)."""
    if not mirror:
        return entry.url
    if mirror.startswith(("http://", "https://")):
        return mirror.rstrip("/") + "/" + entry.filename
    return str(Path(mirror) / entry.filename)


def download(source: str, dest: Path, progress: Progress | None = None, timeout: float = 30.0) -> Path:
    """Fetch `source` to `dest`, resuming `dest.part`; a local path is copied."""
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not source.startswith(("http://", "https://")):
        src = Path(source)
        if not src.is_file():
            raise FetchError(f"{src} does not exist in the mirror directory")
        shutil.copyfile(src, part)
        part.replace(dest)
        return dest
    last: Exception | None = None
    for attempt in range(RETRIES):
        try:
            _get(source, part, progress, timeout)
            part.replace(dest)
            return dest
        except (httpx.TransportError, _Short) as exc:  # dropped: resume from what we have
            last = exc
            time.sleep(0.2 * (attempt + 1))
    have = part.stat().st_size if part.exists() else 0
    raise FetchError(
        f"download of {source} was interrupted at {have} bytes ({last}); run the command again to resume"
    )


class _Short(Exception):
    pass


def _get(url: str, part: Path, progress: Progress | None, timeout: float) -> None:
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    with httpx.stream("GET", url, headers=headers, timeout=timeout, follow_redirects=True) as resp:
        if resp.status_code == 416 and have:  # we already hold all of it
            return
        if resp.status_code == 404:
            raise FetchError(f"{url} is not there (404): check --version/--abi or the mirror")
        if resp.status_code not in (200, 206):
            raise FetchError(f"{url} answered HTTP {resp.status_code}")
        if resp.status_code == 200:
            have = 0  # the server ignored Range: start over
        length = resp.headers.get("content-length")
        total = have + int(length) if length and length.isdecimal() else None
        if total is not None and total > MAX_BYTES:
            raise FetchError(f"{url} is {total} bytes, more than any benchmark_model ({MAX_BYTES >> 20} MiB)")
        with part.open("ab" if have else "wb") as out:
            for chunk in resp.iter_bytes(CHUNK):
                have += len(chunk)
                if have > MAX_BYTES:
                    raise FetchError(f"{url} is larger than {MAX_BYTES >> 20} MiB: refused")
                out.write(chunk)
                if progress:
                    progress(have, total)
        if total is not None and have < total:
            raise _Short(f"got {have} of {total} bytes")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, entry: Entry) -> tuple[str, bool]:
    """(sha256, known). A known sha256 that differs deletes the file and raises."""
    sha = sha256_of(path)
    if entry.sha256 and sha != entry.sha256:
        path.unlink(missing_ok=True)
        raise FetchError(
            f"{entry.filename}: sha256 {sha} does not match the catalog's {entry.sha256}: refused, "
            "nothing registered (a tampered mirror or a stale catalog entry)"
        )
    return sha, bool(entry.sha256)
