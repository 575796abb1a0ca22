"""Inference jobs stored before workers fetched inputs by sha256 get it from the migration."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_segmenter.tflite"


@pytest.fixture
def embedded_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated SQLite farm database of this test's own (the embedded farm's kind)."""
    from server.db import reset_caches
    from server.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'farm.db'}"
    monkeypatch.setenv("FARM_DATABASE_URL", url)
    monkeypatch.setenv("FARM_DATA_DIR", str(tmp_path / "data"))
    reset_caches()
    upgrade(url)
    yield url
    reset_caches()


def _old_inference(db, model_id: int, where: Path, data: bytes | None) -> int:
    """An inference job as submit stored it before: the input's path, no sha256 or size."""
    from server.inferences.models import Inference
    from server.jobs.models import Job

    where.mkdir(parents=True, exist_ok=True)
    input_path = where / "input.bin"
    if data is not None:
        input_path.write_bytes(data)
    task = {"id": 0, "input_path": str(input_path), "input_name": "x", "input_shape": [1], "output_bytes": 4}
    job = Job(model_id=model_id, spec={"kind": "inference", "inference": task})
    db.add(job)
    db.flush()
    inference = Inference(
        job_id=job.id,
        model_id=model_id,
        image_path=str(where / "image.png"),
        image_format="png",
        width=1,
        height=1,
        input_path=str(input_path),
        input_name="x",
        input_shape=[1],
        input_dtype="float32",
    )
    db.add(inference)
    db.flush()
    job.spec = {"kind": "inference", "inference": task | {"id": inference.id}}
    return job.id


def test_old_inference_jobs_get_their_inputs_sha256_and_size_from_the_migration(
    embedded_db: str, tmp_path: Path
) -> None:
    from alembic import command

    from contracts.jobs import BenchmarkSpec
    from server.db import session_scope
    from server.jobs.models import Job
    from server.migrate import alembic_config, upgrade
    from server.models.service import store_model

    tensor = bytes(range(256)) * 3
    with session_scope() as db:
        model, _ = store_model(db, io.BytesIO(TINY.read_bytes()), "tiny", None)
        kept = _old_inference(db, model.id, tmp_path / "inferences" / "1", tensor)
        lost = _old_inference(db, model.id, tmp_path / "inferences" / "2", None)  # its file is gone
    command.downgrade(alembic_config(embedded_db), "0008")  # the database as it was before 0009

    upgrade(embedded_db)

    def task(db, job_id: int):
        job = db.get(Job, job_id)
        assert job is not None
        return BenchmarkSpec.from_stored(job.spec).inference

    with session_scope() as db:
        found = task(db, kept)
        assert found is not None
        assert found.input_sha256 == hashlib.sha256(tensor).hexdigest() and found.input_size == len(tensor)
        untouched = task(db, lost)
        assert untouched is not None and untouched.input_sha256 is None
