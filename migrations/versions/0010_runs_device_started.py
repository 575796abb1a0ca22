"""an index on runs (device_id, started_at): a phone's most recent runs without reading its history

`lifecycle.next_run` (every claim since the fair turn) asks which submitter a phone served
last; it now reads only the phone's latest started runs, newest first, which this index
serves without touching the rest of the phone's history.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 05:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_runs_device_started", "runs", ["device_id", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_runs_device_started", table_name="runs")
