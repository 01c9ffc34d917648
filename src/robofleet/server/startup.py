"""What happens once before the server accepts requests: schema upgrade and first account."""

from __future__ import annotations

from robofleet.server.app import build_runtime
from robofleet.server.db import migrate
from robofleet.server.services.access.bootstrap import FirstStart, ensure_first_account
from robofleet.server.settings import Settings


def prepare(settings: Settings) -> FirstStart | None:
    """Create the data directory, upgrade the schema and create the first account if needed."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.blob_dir.mkdir(parents=True, exist_ok=True)
    runtime = build_runtime(settings)
    try:
        migrate.upgrade(runtime.db.engine)
        return ensure_first_account(
            runtime, admin_password=settings.admin_password, api_key=settings.api_key
        )
    finally:
        runtime.db.dispose()
