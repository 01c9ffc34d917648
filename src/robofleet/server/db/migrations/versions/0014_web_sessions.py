"""web sessions, and the failed logins the brute-force limit counts

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import robofleet.server.db.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FAILED_LOGIN = "action = 'login_failed'"
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column(
            "created_at", robofleet.server.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_seen_at", robofleet.server.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("user_agent", sa.String(512), nullable=False),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_web_sessions_user", "web_sessions", ["user_id"])
    for name, column in (
        ("ix_audit_log_failed_logins", "actor_name"),
        ("ix_audit_log_failed_login_addresses", "address"),
    ):
        op.create_index(
            name,
            "audit_log",
            [column, "at"],
            sqlite_where=sa.text(FAILED_LOGIN),
            postgresql_where=sa.text(FAILED_LOGIN),
        )


def downgrade() -> None:
    op.drop_index("ix_audit_log_failed_login_addresses", "audit_log")
    op.drop_index("ix_audit_log_failed_logins", "audit_log")
    op.drop_index("ix_web_sessions_user", "web_sessions")
    op.drop_table("web_sessions")
