"""idempotent retries: the lease that finished a task, the key and digest of its add

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("finish_lease_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("request_digest", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_tasks_idempotency_key", ["account_id", "idempotency_key"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_idempotency_key")
        batch_op.drop_column("request_digest")
        batch_op.drop_column("idempotency_key")
        batch_op.drop_column("finish_lease_id")
