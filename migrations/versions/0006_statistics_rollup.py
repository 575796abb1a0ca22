"""honest statistics and the results rollup

p90_us was mean + 1.28·std (a normal fit) stored under a percentile's name: renamed to
trial_p90_us and cleared (new results fill it from their trials). New:
tool_p95_us, ci_half_pct, detectable_pct; result_rollups and result_group_rollups backfilled
from results.

Revision ID: 0006
Revises: 0005 (chained after merging main; was 0001)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.alter_column("p90_us", new_column_name="trial_p90_us")
        batch.add_column(sa.Column("tool_p95_us", sa.Float(), nullable=True))
        batch.add_column(sa.Column("ci_half_pct", sa.Float(), nullable=True))
        batch.add_column(sa.Column("detectable_pct", sa.Float(), nullable=True))
    # the old values were a normal-fit guess, not a percentile of anything measured
    op.execute("UPDATE results SET trial_p90_us = NULL")
    op.create_table(
        "result_rollups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("delegate", sa.String(length=16), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("submitter", sa.String(length=128), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("sum_avg_us", sa.Float(), nullable=False),
        sa.Column("sum_sq_avg_us", sa.Float(), nullable=False),
        sa.Column("sum_var_us", sa.Float(), nullable=False),
        sa.Column("min_us", sa.Float(), nullable=True),
        sa.Column("max_us", sa.Float(), nullable=True),
        sa.Column("last_job_id", sa.Integer(), nullable=False),
        sa.Column("last_result_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_result_rollups_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name=op.f("fk_result_rollups_model_id_models"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_rollups")),
        sa.UniqueConstraint(
            "model_id", "device_id", "delegate", "public", "submitter", name="uq_result_rollups_key"
        ),
    )
    op.create_index("ix_result_rollups_model", "result_rollups", ["model_id", "delegate"])
    op.create_index("ix_result_rollups_private", "result_rollups", ["public", "submitter", "model_id"])
    op.create_index("ix_result_rollups_last_result", "result_rollups", ["last_result_id"])
    op.create_table(
        "result_group_rollups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("delegate", sa.String(length=16), nullable=False),
        sa.Column("soc_name", sa.String(length=128), nullable=False),
        sa.Column("soc_known", sa.Boolean(), nullable=False),
        sa.Column("ram_gb", sa.Float(), nullable=False),
        sa.Column("is_virtual", sa.Boolean(), nullable=False),
        sa.Column("phones", sa.Integer(), nullable=False),
        sa.Column("sum_phone_avg_us", sa.Float(), nullable=False),
        sa.Column("last_job_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
            name=op.f("fk_result_group_rollups_model_id_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_group_rollups")),
        sa.UniqueConstraint(
            "model_id",
            "delegate",
            "soc_name",
            "soc_known",
            "ram_gb",
            "is_virtual",
            name="uq_result_group_rollups_key",
        ),
    )
    op.create_index(op.f("ix_result_group_rollups_model_id"), "result_group_rollups", ["model_id"])
    # the backfill as it was at this revision (submitter a name; 0007 turns it into a user id):
    # a migration must not run today's rollup SQL against yesterday's columns
    op.execute(
        """
        INSERT INTO result_rollups (model_id, device_id, delegate, public, submitter, n, sum_avg_us,
                                    sum_sq_avg_us, sum_var_us, min_us, max_us, last_job_id, last_result_id)
        SELECT r.model_id, r.device_id, r.delegate, j.public, COALESCE(j.submitter, ''), COUNT(*),
               SUM(r.avg_us), SUM(r.avg_us * r.avg_us), SUM(COALESCE(r.std_us, 0) * COALESCE(r.std_us, 0)),
               MIN(COALESCE(r.min_us, r.avg_us)), MAX(COALESCE(r.max_us, r.avg_us)), MAX(r.job_id), MAX(r.id)
        FROM results r JOIN jobs j ON j.id = r.job_id
        GROUP BY r.model_id, r.device_id, r.delegate, j.public, COALESCE(j.submitter, '')
        """
    )
    from server.results.rollup import rebuild_groups

    rebuild_groups(op.get_bind())


def downgrade() -> None:
    op.drop_index(op.f("ix_result_group_rollups_model_id"), table_name="result_group_rollups")
    op.drop_table("result_group_rollups")
    op.drop_index("ix_result_rollups_last_result", table_name="result_rollups")
    op.drop_index("ix_result_rollups_private", table_name="result_rollups")
    op.drop_index("ix_result_rollups_model", table_name="result_rollups")
    op.drop_table("result_rollups")
    with op.batch_alter_table("results") as batch:
        batch.drop_column("detectable_pct")
        batch.drop_column("ci_half_pct")
        batch.drop_column("tool_p95_us")
        batch.alter_column("trial_p90_us", new_column_name="p90_us")
