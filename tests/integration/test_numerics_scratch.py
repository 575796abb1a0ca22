"""The numerics trial's scratch directory is gone after the run: uploaded, refused or crashed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.integration.conftest import FIXTURE_MODEL
from tests.stack import AdbServer

pytestmark = pytest.mark.integration


def _on_phone(adb_server: AdbServer, fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A virtual phone with the model and a benchmark_model on it, and a numerics claim for it."""
    from contracts.elf import fake_elf
    from contracts.jobs import BenchmarkSpec
    from contracts.runs import Claim, FileRef
    from contracts.settings import get_settings
    from device_agent.phone import install

    monkeypatch.setenv("FARM_DATA_DIR", str(tmp_path / "worker-data"))
    get_settings.cache_clear()
    phone = fleet.add("sdm845")
    adb_server.connect(phone.address)
    device = adb_server.client.device(phone.address)
    data = FIXTURE_MODEL.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    elf = fake_elf("arm64-v8a", b"test benchmark_model")
    model = install.Upload(FIXTURE_MODEL, install.model_path(sha), sha)
    binary = install.Upload(elf, install.binary_path("numerics"), hashlib.sha256(elf).hexdigest(), True)
    install.ensure(device, [model, binary])
    claim = Claim(
        run_id=7,
        attempt=1,
        device_id=1,
        job_id=3,
        serial=phone.address,
        is_virtual=True,
        delegate="gpu",
        threads=2,
        spec=BenchmarkSpec(numerics=True),
        model=FileRef(sha256=sha, size=len(data), path="/models/1/file"),
    )
    return phone, device, binary.remote, model.remote, claim


def test_no_numerics_scratch_directory_remains_after_an_upload_a_refused_upload_or_a_crash(
    adb_server: AdbServer, fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from worker.numerics_trial import maybe_numerics, scratch_root

    phone, device, binary, model, claim = _on_phone(adb_server, fleet, tmp_path, monkeypatch)
    sent: list[int] = []

    def upload(path: Path) -> None:  # the API's side: takes the bytes while they are there
        sent.append(len(path.read_bytes()))

    def refused(path: Path) -> None:
        raise OSError(f"the API refused {path.name}")

    def trial(send) -> dict:
        record = maybe_numerics(device, binary, model, claim, FIXTURE_MODEL, timeout=60, upload=send)
        assert record is not None
        return record

    done = trial(upload)
    assert "error" not in done and sent == [done["output_bytes"]] and "output_local" not in done
    assert list(scratch_root().iterdir()) == []

    assert "upload failed" in trial(refused)["error"]
    assert list(scratch_root().iterdir()) == []

    phone.faults.benchmark_crash_signal = 11  # the phone's benchmark_model crashes
    assert "exited with" in trial(upload)["error"]
    assert list(scratch_root().iterdir()) == []
    assert not (tmp_path / "worker-data" / "numerics").exists()  # nothing where the API keeps its own


def test_a_worker_start_sweeps_scratch_left_by_a_killed_worker_but_not_a_running_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import time

    from celery.signals import worker_init

    import worker.celery_app  # noqa: F401  (connects the start-up sweep)
    from contracts.settings import get_settings
    from worker.numerics_trial import scratch_root, sweep_stale_scratch

    monkeypatch.setenv("FARM_DATA_DIR", str(tmp_path / "worker-data"))
    get_settings.cache_clear()
    root = scratch_root()
    orphan = root / "numerics-run-1-abc"
    running = root / "numerics-run-2-def"
    for d in (orphan, running):
        d.mkdir(parents=True)
        (d / "run-1.bin").write_bytes(b"x" * 100)
    old = time.time() - 3600
    os.utime(orphan, (old, old))

    worker_init.send(sender=None)  # what a starting worker fires (run timeout 600 s: older than 1200 s goes)
    assert not orphan.exists() and (running / "run-1.bin").exists()
    assert sweep_stale_scratch(1200) == 0
