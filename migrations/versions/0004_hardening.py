"""hardening: failure blame per run, bounded raw output, models deduplicated by file not record

Revision ID: 0004
Revises: 0005 (chained after merging main: 0001 → 0002 → 0005 → 0004)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failure_kind", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("blame", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("output_bytes", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("models", schema=None) as batch_op:
        # the same bytes uploaded by two users are two records sharing one stored file
        batch_op.drop_constraint("uq_models_sha256", type_="unique")
        batch_op.create_index("ix_models_sha256", ["sha256"], unique=False)
        batch_op.create_unique_constraint("uq_models_sha256_owner", ["sha256", "owner"])


def downgrade() -> None:
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.drop_constraint("uq_models_sha256_owner", type_="unique")
        batch_op.drop_index("ix_models_sha256")
        batch_op.create_unique_constraint("uq_models_sha256", ["sha256"])
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("output_bytes")
        batch_op.drop_column("blame")
        batch_op.drop_column("failure_kind")
