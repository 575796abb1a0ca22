"""hosts share nothing: phones keyed by hardware identity, agent tokens bound to a host

A device is its hardware serial plus manufacturer/model; its adb address and its host
change (USB → Wi-Fi adb, another host, a restart). Existing rows keep their adb serial as
both identity and address until their agent reports the hardware serial.

Revision ID: 0003
Revises: 0006
Create Date: 2026-12-02 00:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(length=128), nullable=True))
        batch_op.drop_constraint("uq_devices_host_serial", type_="unique")
        batch_op.create_unique_constraint("uq_devices_identity", ["serial", "manufacturer", "model"])
        batch_op.create_index("ix_devices_host_address", ["host_id", "address"], unique=False)
    op.execute("UPDATE devices SET address = serial")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("host", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("host")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index("ix_devices_host_address")
        batch_op.drop_constraint("uq_devices_identity", type_="unique")
        batch_op.create_unique_constraint("uq_devices_host_serial", ["host_id", "serial"])
        batch_op.drop_column("address")
