"""benchmark binaries: one row per benchmark_model file, and each phone's ABI list

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "benchmark_binaries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("abi", sa.String(length=32), nullable=False),
        sa.Column("flex", sa.Boolean(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("tool_version", sa.String(length=64), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=True),
        sa.Column("probed_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("source_url", sa.String(length=500), nullable=True),
        sa.Column("added_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benchmark_binaries")),
        sa.UniqueConstraint("sha256", name=op.f("uq_benchmark_binaries_sha256")),
    )
    op.create_index(op.f("ix_benchmark_binaries_abi"), "benchmark_binaries", ["abi"], unique=False)
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("abilist", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("abilist")
    op.drop_index(op.f("ix_benchmark_binaries_abi"), table_name="benchmark_binaries")
    op.drop_table("benchmark_binaries")
