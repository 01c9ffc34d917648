"""Engine set-up: the pool and connection set-up of each store live in `db.dialect`."""

from __future__ import annotations

from sqlalchemy import Engine

from robofleet.server.db.dialect import dialect_for_url


def make_engine(url: str, *, sqlite_synchronous: str = "full", pool_size: int = 10) -> Engine:
    return dialect_for_url(url).create_engine(
        url, sqlite_synchronous=sqlite_synchronous, pool_size=pool_size
    )
