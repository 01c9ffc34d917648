"""resources (assets), resource groups and the data keys that encrypt credential passwords

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import robofleet.server.db.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = robofleet.server.db.base.UtcDateTime(timezone=True)


def _entity_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("account_id", ID, nullable=False),
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("guid", sa.String(length=36), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("is_deleted", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("folder_id", ID, nullable=True),
    ]


def _live_unique(batch_op: object, name: str, columns: list[str]) -> None:
    batch_op.create_index(  # type: ignore[attr-defined]
        name,
        columns,
        unique=True,
        sqlite_where=sa.text("is_deleted = 0"),
        postgresql_where=sa.text("NOT is_deleted"),
    )


def upgrade() -> None:
    op.create_table(
        "resource_groups",
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        *_entity_columns(),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_resource_groups_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["folder_id"],
            ["access_folders.id"],
            name=op.f("fk_resource_groups_folder_id_access_folders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_groups")),
        sa.UniqueConstraint("guid", name=op.f("uq_resource_groups_guid")),
    )
    with op.batch_alter_table("resource_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resource_groups_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_resource_groups_folder_id"), ["folder_id"], unique=False
        )
        _live_unique(batch_op, "uq_resource_groups_name_live", ["account_id", "name"])

    op.create_table(
        "resources",
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("resource_group_id", ID, nullable=True),
        sa.Column("type", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("password_ciphertext", sa.Text(), nullable=True),
        sa.Column("password_key_id", sa.String(length=36), nullable=True),
        sa.Column("password_expiration", TIME, nullable=True),
        sa.Column("robot_type", sa.Integer(), nullable=False),
        sa.Column("robot_id", ID, nullable=True),
        sa.Column("robot_group_id", ID, nullable=True),
        sa.Column("scope_key", sa.String(length=64), nullable=False),
        *_entity_columns(),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_resources_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["folder_id"], ["access_folders.id"], name=op.f("fk_resources_folder_id_access_folders")
        ),
        sa.ForeignKeyConstraint(
            ["resource_group_id"],
            ["resource_groups.id"],
            name=op.f("fk_resources_resource_group_id_resource_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["robot_id"], ["robots.id"], name=op.f("fk_resources_robot_id_robots")
        ),
        sa.ForeignKeyConstraint(
            ["robot_group_id"],
            ["robot_groups.id"],
            name=op.f("fk_resources_robot_group_id_robot_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resources")),
        sa.UniqueConstraint("guid", name=op.f("uq_resources_guid")),
    )
    with op.batch_alter_table("resources", schema=None) as batch_op:
        for column in (
            "account_id",
            "folder_id",
            "name",
            "resource_group_id",
            "robot_id",
            "robot_group_id",
            "password_key_id",
        ):
            batch_op.create_index(batch_op.f(f"ix_resources_{column}"), [column], unique=False)
        _live_unique(batch_op, "uq_resources_name_scope_live", ["account_id", "name", "scope_key"])

    op.create_table(
        "data_keys",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("key_id", sa.String(length=36), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("retired_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_data_keys_key_id")),
    )
    with op.batch_alter_table("data_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_keys_state"), ["state"], unique=False)


def downgrade() -> None:
    op.drop_table("data_keys")
    op.drop_table("resources")
    op.drop_table("resource_groups")
