"""the job pick's index in the take order (priority DESC, then id) and over live jobs only

The pick (db.claims.next_job_for_robot) takes the best priority, then the oldest. On
ix_jobs_dispatch, (account_id, priority, id), that order is in neither direction of the index,
so every pick sorted the account's pending jobs. ix_jobs_pick is in that order and leaves out
deleted jobs, which the pick never takes: it stops at the first row the robot may take.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 12:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PICKABLE = "status = 1 AND claimed_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_dispatch")
        batch.create_index(
            "ix_jobs_pick",
            ["account_id", sa.text("priority DESC"), "id"],
            sqlite_where=sa.text(f"{PICKABLE} AND is_deleted = 0"),
            postgresql_where=sa.text(f"{PICKABLE} AND NOT is_deleted"),
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_pick")
        batch.create_index(
            "ix_jobs_dispatch",
            ["account_id", "priority", "id"],
            sqlite_where=sa.text(PICKABLE),
            postgresql_where=sa.text(PICKABLE),
        )
