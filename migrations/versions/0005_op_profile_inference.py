"""inference jobs: the image and input tensor of an inference, and each run's pulled output

Revision ID: 0005
Revises: 0001
Create Date: 2026-12-02 00:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "0005"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("image_path", sa.String(length=500), nullable=False),
        sa.Column("image_format", sa.String(length=8), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("input_path", sa.String(length=500), nullable=False),
        sa.Column("input_name", sa.String(length=500), nullable=False),
        sa.Column("input_shape", sa.JSON(), nullable=False),
        sa.Column("input_dtype", sa.String(length=16), nullable=False),
        sa.Column("preprocessing", sa.JSON(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_inferences_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], name=op.f("fk_inferences_model_id_models")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inferences")),
        sa.UniqueConstraint("job_id", name=op.f("uq_inferences_job_id")),
    )
    op.create_index(op.f("ix_inferences_model_id"), "inferences", ["model_id"], unique=False)
    op.create_table(
        "inference_outputs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("inference_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("delegate", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("inference_us", sa.Float(), nullable=True),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_inference_outputs_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["inference_id"],
            ["inferences.id"],
            name=op.f("fk_inference_outputs_inference_id_inferences"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_inference_outputs_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inference_outputs")),
        sa.UniqueConstraint("run_id", name=op.f("uq_inference_outputs_run_id")),
    )
    op.create_index(
        op.f("ix_inference_outputs_inference_id"), "inference_outputs", ["inference_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_inference_outputs_inference_id"), table_name="inference_outputs")
    op.drop_table("inference_outputs")
    op.drop_index(op.f("ix_inferences_model_id"), table_name="inferences")
    op.drop_table("inferences")
