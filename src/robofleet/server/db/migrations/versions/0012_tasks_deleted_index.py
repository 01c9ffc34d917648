"""deleted tasks by queue and status, so the metrics count live tasks from indexes alone

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DELETED = "is_deleted = true"


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.create_index(
            "ix_tasks_deleted",
            ["queue_id", "status"],
            sqlite_where=sa.text(DELETED),
            postgresql_where=sa.text(DELETED),
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_index("ix_tasks_deleted")
