"""farm counters: /metrics reads counters kept by the transitions, not aggregates over runs

`farm_counters` (name, labels, value): see server/counters.py. Backfilled from `runs` and
`results` as they stand (runs_requeued_total is an estimate: no column records requeues).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "farm_counters",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("labels", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", "labels", name=op.f("pk_farm_counters")),
    )
    from server.counters import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("farm_counters")
