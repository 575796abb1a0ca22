"""inference jobs submitted before workers fetched inputs by sha256 get their input's sha256

Workers fetch an inference's input tensor by content (GET /inferences/{id}/input, checked
against `spec.inference.input_sha256` and `input_size`), but jobs submitted before that
change stored only the API host's path. Their runs, still queued or re-queued after a lost
phone, would fail on every host; this hashes each such input once, where the API keeps
it. A lost input file is left as it is: its runs fail saying the input has no sha256.
No schema change, so the downgrade has nothing to undo.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 04:00:00
"""

import hashlib
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

jobs = sa.table("jobs", sa.column("id", sa.Integer), sa.column("spec", sa.JSON))
inferences = sa.table("inferences", sa.column("job_id", sa.Integer), sa.column("input_path", sa.String))


def _digest(path: Path) -> tuple[str, int] | None:
    digest, size = hashlib.sha256(), 0
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    except OSError:
        return None
    return digest.hexdigest(), size


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(jobs.c.id, jobs.c.spec, inferences.c.input_path).join(
            inferences, inferences.c.job_id == jobs.c.id
        )
    ).all()
    for job_id, spec, input_path in rows:
        task = (spec or {}).get("inference")
        if not isinstance(task, dict) or task.get("input_sha256"):
            continue
        found = _digest(Path(task.get("input_path") or input_path))
        if found is None:
            continue
        task["input_sha256"], task["input_size"] = found
        conn.execute(sa.update(jobs).where(jobs.c.id == job_id).values(spec={**spec, "inference": task}))


def downgrade() -> None:
    pass
