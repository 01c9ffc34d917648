"""The Storage tab: folders (nested) and the files in them. File bytes live in the blob store
under their SHA-256; a row names its blob."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from robofleet.server.db.base import FolderScoped, IdType, SoftDelete, TenantEntity


def _name_unique_per_parent(name: str, parent: str) -> Index:
    """Live names are unique per parent; the root (no parent) counts as parent 0, since a
    unique index never compares NULLs."""
    return Index(
        name,
        "account_id",
        text(f"coalesce({parent}, 0)"),
        "name",
        unique=True,
        sqlite_where=text("is_deleted = 0"),
        postgresql_where=text("NOT is_deleted"),
    )


class StorageFolderRow(TenantEntity, SoftDelete, FolderScoped):
    __tablename__ = "storage_folders"
    __audit_entity__ = "storage_folder"
    __table_args__ = (_name_unique_per_parent("uq_storage_folders_name_live", "parent_id"),)

    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("storage_folders.id"), nullable=True, index=True
    )


class StorageFileRow(TenantEntity, SoftDelete):
    __tablename__ = "storage_files"
    __audit_entity__ = "storage_file"
    __table_args__ = (_name_unique_per_parent("uq_storage_files_name_live", "storage_folder_id"),)

    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    # Not `folder_id`: that name means an access folder to services.access.lookup.
    storage_folder_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("storage_folders.id"), nullable=True, index=True
    )
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(255), default="application/octet-stream")
