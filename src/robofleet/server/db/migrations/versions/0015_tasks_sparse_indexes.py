"""the tasks' job, robot-lease and idempotency-key indexes hold only the rows that have one

Every take and finish rewrites a task row, and PostgreSQL then adds the new row to every index
of the table. Most tasks have no job, no robot holding them and no idempotency key, yet each
rewrite added a NULL entry to these three indexes. Their lookups are all by equality (a job's
tasks, a robot's leases, a key's task), which both stores answer from a partial index
`WHERE <column> IS NOT NULL`.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 10:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_tasks_job", ["job_id"], False, "job_id IS NOT NULL"),
    ("ix_tasks_lease_robot_id", ["lease_robot_id"], False, "lease_robot_id IS NOT NULL"),
    (
        "ix_tasks_idempotency_key",
        ["account_id", "idempotency_key"],
        True,
        "idempotency_key IS NOT NULL",
    ),
)


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        for name, columns, unique, where in INDEXES:
            batch.drop_index(name)
            batch.create_index(
                name,
                columns,
                unique=unique,
                sqlite_where=sa.text(where),
                postgresql_where=sa.text(where),
            )


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        for name, columns, unique, _ in INDEXES:
            batch.drop_index(name)
            batch.create_index(name, columns, unique=unique)
