"""users own things, not token names

Ownership was keyed on the token's name, so two tokens both named "cli" shared private
models and benchmarks. Now a `users` row owns them: api_tokens.user_id (token names unique
per user), models.owner_id, jobs.submitter_id and result_rollups.submitter_id (0: the farm's).

Existing rows: one user per distinct name found in tokens, model owners and job submitters,
so every token keeps exactly what it saw before (tokens that shared a name were sharing
already: they become one user's tokens, the later ones renamed "<name> #<id>"). NULL owners
stay NULL (the farm's own, e.g. the zoo).

Revision ID: 0007
Revises: 0003
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "0007"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the rollup backfill at this revision (0006 has the one before it)
ROLLUP_SQL = """
INSERT INTO result_rollups (model_id, device_id, delegate, public, submitter_id, n, sum_avg_us, sum_sq_avg_us,
                            sum_var_us, min_us, max_us, last_job_id, last_result_id)
SELECT r.model_id, r.device_id, r.delegate, j.public, COALESCE(j.submitter_id, 0), COUNT(*), SUM(r.avg_us),
       SUM(r.avg_us * r.avg_us), SUM(COALESCE(r.std_us, 0) * COALESCE(r.std_us, 0)),
       MIN(COALESCE(r.min_us, r.avg_us)), MAX(COALESCE(r.max_us, r.avg_us)), MAX(r.job_id), MAX(r.id)
FROM results r JOIN jobs j ON j.id = r.job_id
GROUP BY r.model_id, r.device_id, r.delegate, j.public, COALESCE(j.submitter_id, 0)
"""


def _create_users() -> None:
    users = op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    conn = op.get_bind()
    names: set[str] = set()
    for query in (
        "SELECT DISTINCT name FROM api_tokens",
        "SELECT DISTINCT owner FROM models WHERE owner IS NOT NULL",
        "SELECT DISTINCT submitter FROM jobs WHERE submitter IS NOT NULL",
    ):
        names.update(row[0] for row in conn.execute(sa.text(query)))
    now = datetime.now(UTC)
    op.bulk_insert(users, [{"name": n, "created_at": now} for n in sorted(names)])


def _tokens_to_users() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE api_tokens SET user_id = (SELECT users.id FROM users WHERE users.name = api_tokens.name)"
    )
    # tokens that shared a name were one owner already: one user now, whose later tokens need new names
    conn = op.get_bind()
    later = conn.execute(
        sa.text(
            "SELECT id, name FROM api_tokens WHERE id NOT IN (SELECT MIN(id) FROM api_tokens GROUP BY user_id, name)"
        )
    ).all()
    for token_id, name in later:
        suffix = f" #{token_id}"
        conn.execute(
            sa.text("UPDATE api_tokens SET name = :name WHERE id = :id"),
            {"name": name[: 128 - len(suffix)] + suffix, "id": token_id},
        )
    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(batch.f("fk_api_tokens_user_id_users"), "users", ["user_id"], ["id"])
        batch.create_index(batch.f("ix_api_tokens_user_id"), ["user_id"], unique=False)
        batch.create_unique_constraint("uq_api_tokens_user_name", ["user_id", "name"])


def upgrade() -> None:
    _create_users()
    _tokens_to_users()

    with op.batch_alter_table("models") as batch:
        batch.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
    op.execute("UPDATE models SET owner_id = (SELECT users.id FROM users WHERE users.name = models.owner)")
    with op.batch_alter_table("models") as batch:
        batch.drop_constraint("uq_models_sha256_owner", type_="unique")
        batch.drop_column("owner")
        batch.create_foreign_key(batch.f("fk_models_owner_id_users"), "users", ["owner_id"], ["id"])
        batch.create_index(batch.f("ix_models_owner_id"), ["owner_id"], unique=False)
        batch.create_unique_constraint("uq_models_sha256_owner_id", ["sha256", "owner_id"])

    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("submitter_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE jobs SET submitter_id = (SELECT users.id FROM users WHERE users.name = jobs.submitter)"
    )
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("submitter")
        batch.create_foreign_key(batch.f("fk_jobs_submitter_id_users"), "users", ["submitter_id"], ["id"])
        batch.create_index(batch.f("ix_jobs_submitter_id"), ["submitter_id"], unique=False)

    # rollups are derived from results and jobs: emptied, re-keyed, recomputed
    op.execute("DELETE FROM result_rollups")
    op.drop_index("ix_result_rollups_private", table_name="result_rollups")
    with op.batch_alter_table("result_rollups") as batch:
        batch.drop_constraint("uq_result_rollups_key", type_="unique")
        batch.drop_column("submitter")
        batch.add_column(sa.Column("submitter_id", sa.Integer(), nullable=False))
        batch.create_unique_constraint(
            "uq_result_rollups_key", ["model_id", "device_id", "delegate", "public", "submitter_id"]
        )
    op.create_index("ix_result_rollups_private", "result_rollups", ["public", "submitter_id", "model_id"])
    op.execute(ROLLUP_SQL)


def downgrade() -> None:
    op.execute("DELETE FROM result_rollups")
    op.drop_index("ix_result_rollups_private", table_name="result_rollups")
    with op.batch_alter_table("result_rollups") as batch:
        batch.drop_constraint("uq_result_rollups_key", type_="unique")
        batch.drop_column("submitter_id")
        batch.add_column(sa.Column("submitter", sa.String(length=128), nullable=False))
        batch.create_unique_constraint(
            "uq_result_rollups_key", ["model_id", "device_id", "delegate", "public", "submitter"]
        )
    op.create_index("ix_result_rollups_private", "result_rollups", ["public", "submitter", "model_id"])

    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("submitter", sa.String(length=128), nullable=True))
    op.execute(
        "UPDATE jobs SET submitter = (SELECT users.name FROM users WHERE users.id = jobs.submitter_id)"
    )
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index(batch.f("ix_jobs_submitter_id"))
        batch.drop_constraint(batch.f("fk_jobs_submitter_id_users"), type_="foreignkey")
        batch.drop_column("submitter_id")
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

    with op.batch_alter_table("models") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=128), nullable=True))
    op.execute("UPDATE models SET owner = (SELECT users.name FROM users WHERE users.id = models.owner_id)")
    with op.batch_alter_table("models") as batch:
        batch.drop_constraint("uq_models_sha256_owner_id", type_="unique")
        batch.drop_index(batch.f("ix_models_owner_id"))
        batch.drop_constraint(batch.f("fk_models_owner_id_users"), type_="foreignkey")
        batch.drop_column("owner_id")
        batch.create_unique_constraint("uq_models_sha256_owner", ["sha256", "owner"])

    # a token's name was its owner: the user's name, when one user holds several tokens
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_constraint("uq_api_tokens_user_name", type_="unique")
    op.execute(
        "UPDATE api_tokens SET name = (SELECT users.name FROM users WHERE users.id = api_tokens.user_id)"
    )
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_index(batch.f("ix_api_tokens_user_id"))
        batch.drop_constraint(batch.f("fk_api_tokens_user_id_users"), type_="foreignkey")
        batch.drop_column("user_id")
    op.drop_table("users")
