"""the mails e-mail triggers have taken

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 19:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import robofleet.server.db.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trigger_mails",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "trigger_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("mail_key", sa.String(length=64), nullable=False),
        sa.Column("fire_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("taken_at", robofleet.server.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["fire_id"], ["trigger_fires.id"], name=op.f("fk_trigger_mails_fire_id_trigger_fires")
        ),
        sa.ForeignKeyConstraint(
            ["trigger_id"], ["triggers.id"], name=op.f("fk_trigger_mails_trigger_id_triggers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trigger_mails")),
        sa.UniqueConstraint("trigger_id", "mail_key", name="uq_trigger_mails_key"),
    )


def downgrade() -> None:
    op.drop_table("trigger_mails")
