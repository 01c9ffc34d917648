"""tasks keep their GUIDs and lease ids as PostgreSQL's `uuid`

Every take and finish writes a new version of the task row, and in a drain in batches of 50
PostgreSQL's own CPU was most of the cost of a task. A finished task's row was 229 bytes, of
which its GUID and its finishing lease id took 37 each as varchar(36): as `uuid` they take 16,
and the GUID's unique index shrinks alike. The values are the same canonical texts to every
reader (db.base.GuidType); SQLite keeps text.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 23:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("guid", "lease_id", "finish_lease_id")


def _retype(sql_type: str, using: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE tasks "
        + ", ".join(f"ALTER COLUMN {c} TYPE {sql_type} USING {using.format(c)}" for c in COLUMNS)
    )


def upgrade() -> None:
    # Every stored lease id is new_guid's; a task GUID is a canonical GUID (domain.refs).
    _retype("uuid", "{}::uuid")


def downgrade() -> None:
    _retype("varchar(36)", "{}::text")
