"""The lean pool's asyncpg DSN from the engine's URL: libpq's client-side options (which
asyncpg would send to the server as unknown settings) left out, a connect timeout kept."""

from __future__ import annotations

from sqlalchemy import make_url

from robofleet.server.db.driver_pool import WAIT_SECONDS, asyncpg_target


def test_libpq_only_options_are_left_out_and_the_rest_kept() -> None:
    url = make_url(
        "postgresql+psycopg://robofleet:p%40ss@db.internal:5433/fleet"
        "?connect_timeout=7&keepalives=1&keepalives_idle=30&sslmode=require"
        "&application_name=robofleet"
    )
    dsn, timeout = asyncpg_target(url)
    assert dsn == (
        "postgresql://robofleet:p%40ss@db.internal:5433/fleet"
        "?application_name=robofleet&sslmode=require"
    )
    assert timeout == 7.0


def test_a_plain_url_keeps_its_form_and_the_pools_wait_as_connect_timeout() -> None:
    dsn, timeout = asyncpg_target(make_url("postgresql+psycopg://root@127.0.0.1:5432/robofleet"))
    assert dsn == "postgresql://root@127.0.0.1:5432/robofleet"
    assert timeout == WAIT_SECONDS


def test_a_connect_timeout_that_is_not_a_positive_whole_number_is_ignored() -> None:
    for given in ("0", "abc", "-3"):
        _, timeout = asyncpg_target(make_url(f"postgresql+psycopg://h/db?connect_timeout={given}"))
        assert timeout == WAIT_SECONDS
