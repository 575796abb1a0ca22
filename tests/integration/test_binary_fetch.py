"""`farm binary fetch` against a local HTTP server: checksums, 404, a connection dropped midway
(resumed with an HTTP Range request). Nothing here reaches the internet."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cli import fetch
from contracts.elf import fake_elf
from tests.stack import ROOT, FarmStack

pytestmark = pytest.mark.integration

GOOD = fake_elf("arm64-v8a", b"benchmark_model " * 40_000)  # ~640 kB: several chunks
ARM = fake_elf("armeabi-v7a", b"benchmark_model arm")


class Files:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.drop_once: dict[str, int] = {}  # path -> bytes sent before the connection is cut
        self.ranges: list[str] = []


def _handler(files: Files) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            data = files.files.get(self.path)
            if data is None:
                self.send_error(404)
                return
            start = 0
            if rng := self.headers.get("Range"):
                files.ranges.append(rng)
                start = int(rng.removeprefix("bytes=").split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            cut = files.drop_once.pop(self.path, None)
            if cut is not None:
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.connection.shutdown(2)  # the cable is pulled
                return
            self.wfile.write(body)

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, Files]]:
    files = Files()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(files))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", files
    httpd.shutdown()
    httpd.server_close()


def catalog(tmp: Path, base: str, sha_arm64: str, sha_arm: str) -> Path:
    path = tmp / "catalog.toml"
    path.write_text(
        f"""
[[binary]]
version = "9.9"
abi = "arm64-v8a"
flex = false
url = "{base}/android_aarch64_benchmark_model"
sha256 = "{sha_arm64}"

[[binary]]
version = "9.9"
abi = "armeabi-v7a"
flex = false
url = "{base}/android_arm_benchmark_model"
sha256 = "{sha_arm}"
"""
    )
    return path


def test_a_dropped_download_resumes_with_a_range_request(server, tmp_path: Path) -> None:
    base, files = server
    files.files["/f"] = GOOD
    files.drop_once["/f"] = 200_000
    seen: list[tuple[int, int | None]] = []
    path = fetch.download(f"{base}/f", tmp_path / "f", lambda done, total: seen.append((done, total)))
    assert path.read_bytes() == GOOD
    assert files.ranges and files.ranges[0].startswith("bytes=")
    assert int(files.ranges[0].removeprefix("bytes=").rstrip("-")) > 0
    assert seen[-1] == (len(GOOD), len(GOOD))


def test_a_download_that_keeps_dropping_says_how_to_resume(server, tmp_path: Path, monkeypatch) -> None:
    base, files = server
    files.files["/f"] = GOOD
    monkeypatch.setattr(fetch, "RETRIES", 1)
    files.drop_once["/f"] = 100_000
    with pytest.raises(fetch.FetchError, match="run the command again to resume"):
        fetch.download(f"{base}/f", tmp_path / "f")
    assert (tmp_path / "f.part").stat().st_size > 0
    assert fetch.download(f"{base}/f", tmp_path / "f").read_bytes() == GOOD  # the next run resumes


def test_a_missing_file_is_a_clear_404(server, tmp_path: Path) -> None:
    base, _ = server
    with pytest.raises(fetch.FetchError, match="404"):
        fetch.download(f"{base}/nope", tmp_path / "x")


@pytest.fixture
def farm(tmp_path: Path) -> Iterator[FarmStack]:
    s = FarmStack(tmp_path, mode="embedded", binaries=False)
    s.start_api()
    yield s
    s.close()


def cli(stack: FarmStack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "binary", *args],
        env=stack.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_fetch_registers_verified_files_and_refuses_a_wrong_checksum(
    server, farm: FarmStack, tmp_path: Path
) -> None:
    base, files = server
    files.files["/android_aarch64_benchmark_model"] = GOOD
    files.files["/android_arm_benchmark_model"] = ARM
    good_sha = hashlib.sha256(GOOD).hexdigest()
    cat = catalog(tmp_path, "https://example.invalid/lite", good_sha, "0" * 64)

    ok = cli(farm, "fetch", "--version", "9.9", "--abi", "arm64-v8a", "--from", base, "--catalog", str(cat))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert good_sha in ok.stdout and "matches the catalog" in ok.stdout
    (row,) = farm.http.get("/binaries").json()
    assert (row["sha256"], row["abi"]) == (good_sha, "arm64-v8a")
    assert row["source_url"] == f"{base}/android_aarch64_benchmark_model"
    listed = cli(farm, "list")
    assert listed.returncode == 0 and good_sha[:12] in listed.stdout and "not probed" in listed.stdout, (
        listed.stdout
    )

    bad = cli(
        farm, "fetch", "--version", "9.9", "--abi", "armeabi-v7a", "--from", base, "--catalog", str(cat)
    )
    assert bad.returncode == 1 and "does not match" in bad.stderr and "Traceback" not in bad.stderr
    assert [b["abi"] for b in farm.http.get("/binaries").json()] == ["arm64-v8a"]

    missing = cli(farm, "fetch", "--version", "9.9", "--from", base + "/gone", "--catalog", str(cat))
    assert missing.returncode == 1 and "404" in missing.stderr

    unknown = cli(farm, "fetch", "--abi", "x86_64", "--catalog", str(cat), "--version", "9.9")
    assert unknown.returncode == 1 and "farm binary add" in unknown.stderr.replace("\n", " ")


def test_the_published_catalog_names_the_nightly_builds() -> None:
    entries = fetch.load_catalog()
    names = {(e.abi, e.flex): e.filename for e in entries if e.version == "nightly"}
    assert names[("arm64-v8a", False)] == "android_aarch64_benchmark_model"
    assert names[("armeabi-v7a", True)] == "android_arm_benchmark_model_plus_flex"
    assert all(e.url.startswith("https://storage.googleapis.com/tensorflow-nightly-public/") for e in entries)
