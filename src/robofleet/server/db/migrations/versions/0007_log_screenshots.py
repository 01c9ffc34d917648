"""log lines carry an optional screenshot kept in the blob store

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("logs") as batch:
        batch.add_column(sa.Column("screenshot_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("screenshot_type", sa.String(length=32), nullable=True))
        batch.create_index("ix_logs_screenshot", ["screenshot_sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("logs") as batch:
        batch.drop_index("ix_logs_screenshot")
        batch.drop_column("screenshot_type")
        batch.drop_column("screenshot_sha256")
