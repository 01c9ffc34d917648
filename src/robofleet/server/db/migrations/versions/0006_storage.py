"""storage: nested folders and the files in them

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 15:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import robofleet.server.db.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _common(table: str) -> list[Any]:
    return [
        sa.Column("account_id", ID, nullable=False),
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("guid", sa.String(length=36), nullable=False),
        sa.Column(
            "created_at", robofleet.server.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", robofleet.server.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("is_deleted", sa.Boolean(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f(f"fk_{table}_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("guid", name=op.f(f"uq_{table}_guid")),
    ]


def _name_index(table: str, name: str, parent: str) -> None:
    op.create_index(
        name,
        table,
        ["account_id", sa.text(f"coalesce({parent}, 0)"), "name"],
        unique=True,
        sqlite_where=sa.text("is_deleted = 0"),
        postgresql_where=sa.text("NOT is_deleted"),
    )


def upgrade() -> None:
    op.create_table(
        "storage_folders",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("parent_id", ID, nullable=True),
        sa.Column("folder_id", ID, nullable=True),
        *_common("storage_folders"),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["storage_folders.id"],
            name=op.f("fk_storage_folders_parent_id_storage_folders"),
        ),
        sa.ForeignKeyConstraint(
            ["folder_id"],
            ["access_folders.id"],
            name=op.f("fk_storage_folders_folder_id_access_folders"),
        ),
    )
    op.create_index("ix_storage_folders_account_id", "storage_folders", ["account_id"])
    op.create_index("ix_storage_folders_parent_id", "storage_folders", ["parent_id"])
    op.create_index("ix_storage_folders_folder_id", "storage_folders", ["folder_id"])
    _name_index("storage_folders", "uq_storage_folders_name_live", "parent_id")

    op.create_table(
        "storage_files",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("storage_folder_id", ID, nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        *_common("storage_files"),
        sa.ForeignKeyConstraint(
            ["storage_folder_id"],
            ["storage_folders.id"],
            name=op.f("fk_storage_files_storage_folder_id_storage_folders"),
        ),
    )
    op.create_index("ix_storage_files_account_id", "storage_files", ["account_id"])
    op.create_index("ix_storage_files_storage_folder_id", "storage_files", ["storage_folder_id"])
    _name_index("storage_files", "uq_storage_files_name_live", "storage_folder_id")


def downgrade() -> None:
    op.drop_table("storage_files")
    op.drop_table("storage_folders")
