"""What happens once before the server accepts requests: schema upgrade and first account."""

from __future__ import annotations

import copy
from typing import Any

import uvicorn.config

from robofleet.server.db import migrate
from robofleet.server.runtime_setup import build_runtime
from robofleet.server.services.access.bootstrap import FirstStart, ensure_first_account
from robofleet.server.settings import Settings


def prepare(settings: Settings) -> FirstStart | None:
    """Create the data directory, upgrade the schema and create the first account if needed."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.blob_dir.mkdir(parents=True, exist_ok=True)
    runtime = build_runtime(settings)
    try:
        with migrate.startup_lock(runtime.db.engine):
            migrate.upgrade(runtime.db.engine)
            return ensure_first_account(
                runtime, admin_password=settings.admin_password, api_key=settings.api_key
            )
    finally:
        runtime.db.dispose()


def log_config(settings: Settings) -> dict[str, Any]:
    """uvicorn's logging setup plus Robofleet's own loggers at the configured level: uvicorn
    replaces any logging set up before it starts, and without a handler of their own only
    Robofleet's warnings reached the log, whatever the level said."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["formatters"]["robofleet"] = {
        "format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    }
    config["handlers"]["robofleet"] = {
        "formatter": "robofleet",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["robofleet"] = {
        "handlers": ["robofleet"],
        "level": settings.log_level.upper(),
        "propagate": False,
    }
    return config
