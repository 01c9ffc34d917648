"""log lines keep fewer indexes: time by BRIN on PostgreSQL, screenshots only where present

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 19:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHOT = "screenshot_sha256 IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("logs") as batch:
        batch.drop_index("ix_logs_account_created")
        batch.drop_index("ix_logs_screenshot")
        batch.create_index("ix_logs_created", ["created_at"], postgresql_using="brin")
        batch.create_index(
            "ix_logs_screenshot",
            ["screenshot_sha256"],
            sqlite_where=sa.text(SHOT),
            postgresql_where=sa.text(SHOT),
        )


def downgrade() -> None:
    with op.batch_alter_table("logs") as batch:
        batch.drop_index("ix_logs_screenshot")
        batch.drop_index("ix_logs_created")
        batch.create_index("ix_logs_screenshot", ["screenshot_sha256"])
        batch.create_index("ix_logs_account_created", ["account_id", "created_at"])
