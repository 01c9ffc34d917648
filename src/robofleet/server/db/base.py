"""Declarative base, UTC timestamps and the columns most tables share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Uuid,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.processors import str_to_datetime
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from robofleet.server.db.dialect import dialect_named
from robofleet.server.db.stored_times import TIMES_KEPT
from robofleet.server.domain.refs import new_guid

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
IdType = BigInteger().with_variant(Integer(), "sqlite")
# A GUID column written at high rates: PostgreSQL keeps it as `uuid`, 16 bytes instead of 37
# in every row version and index entry (migration 0017). Texts that are no GUID must not
# reach it there: PostgreSQL refuses them.
GuidType = String(36).with_variant(Uuid(as_uuid=False), "postgresql")
JsonType = JSON().with_variant(JSONB(), "postgresql")
NullableJson = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
"""JSON whose Python None is SQL NULL (not JSON `null`), so `IS NULL` finds it."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC and always come back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect_named(dialect.name).naive_timestamps else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return utc_time(value)

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        # One call per value where TypeDecorator makes two or three (the driver's conversion,
        # its wrapper, process_result_value): a take of 50 tasks reads 400 times.
        driver = self.impl_instance.dialect_impl(dialect).result_processor(dialect, coltype)
        if driver is None:
            return utc_time
        if driver is str_to_datetime:  # SQLite's text
            return sqlite_time
        return super().result_processor(dialect, coltype)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        # SQLite stores text: process_bind_param then SQLite's DATETIME formatting (a dict and
        # a %-format per value) in one step; the robot path binds several times per request.
        if dialect.name == "sqlite":
            return sqlite_timestamp_text
        return super().bind_processor(dialect)


def utc_time(value: datetime | None) -> datetime | None:
    """A time the driver read, as UtcDateTime returns it (aware, in UTC)."""
    if value is None or value.tzinfo is UTC:
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sqlite_time(value: str | None) -> datetime | None:
    """A time SQLite stored as text (sqlite_timestamp_text), as UtcDateTime returns it."""
    if value is None:
        return None
    return _time_of_text(value)


@lru_cache(maxsize=TIMES_KEPT)
def _time_of_text(value: str) -> datetime | None:
    # Kept as the texts written are (_utc_text): a take reads several equal times a task.
    try:
        # Parsed with its zone: datetime.replace(tzinfo=...) costs five times the parse.
        parsed = _from_iso(value + "+00:00")
    except ValueError:
        parsed = None
    if parsed is not None and parsed.tzinfo is UTC:
        return parsed
    # A form only SQLAlchemy's parser reads as SQLAlchemy does (a date alone: Python's
    # reads it, zone and all, as a naive midnight).
    return utc_time(str_to_datetime(value))


_from_iso = datetime.fromisoformat


def sqlite_timestamp_text(value: datetime | None) -> str | None:
    """What UtcDateTime binds on SQLite: the UTC time as SQLAlchemy's SQLite DATETIME stores
    it (`YYYY-MM-DD HH:MM:SS.ffffff`, always six digits of fraction, no zone)."""
    if value is None:
        return None
    if value.tzinfo is UTC:
        return _utc_text(value)
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return _utc_text(value.astimezone(UTC))


@lru_cache(maxsize=TIMES_KEPT)
def _utc_text(value: datetime) -> str:
    # Kept: a take or finish binds the same `now` (and its lease's expiry) several times,
    # its history's rows once each, and the formatting costs several times the lookup.
    # Only UTC times come here: of two times in one zone that differ only by `fold`, equal
    # to Python, one would be answered with the other's text.
    return value.isoformat(" ", "microseconds")[:26]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JsonType}


class Entity(Base):
    """Every Sherpa entity has an integer id, a GUID and creation/update times."""

    __abstract__ = True
    __audit_entity__: str | None = None  # name in the audit log; None = not audited

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True, default=new_guid)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TenantEntity(Entity):
    """An entity that belongs to one account; every query on it is scoped by account."""

    __abstract__ = True

    @declared_attr
    def account_id(cls) -> Mapped[int]:  # noqa: N805 - SQLAlchemy's declared_attr form
        return mapped_column(IdType, ForeignKey("accounts.id"), index=True)


class SoftDelete:
    """Sherpa keeps deleted rows with `is_deleted = 1`."""

    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class FolderScoped:
    """Objects an access folder can hold; no folder means visible to every role of the screen."""

    @declared_attr
    def folder_id(cls) -> Mapped[int | None]:  # noqa: N805
        return mapped_column(IdType, ForeignKey("access_folders.id"), nullable=True, index=True)


def literal_int(value: int) -> ColumnElement[int]:
    """An integer written into the SQL itself, not bound: a partial index whose predicate
    names a constant (`status = 0`) is only used when the query names the same constant."""
    return literal_column(str(int(value)), Integer())


def live_unique(name: str, *columns: str) -> Index:
    """A unique index over rows not soft-deleted, so a deleted name can be used again."""
    return Index(
        name,
        *columns,
        unique=True,
        sqlite_where=text("is_deleted = 0"),
        postgresql_where=text("NOT is_deleted"),
    )
