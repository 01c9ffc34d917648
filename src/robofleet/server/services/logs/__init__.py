"""Robot messages (Sherpa's Log tab): written in batches, read with filters and cursors,
followed live, purged by age and by the retention duty."""

from __future__ import annotations

from robofleet.server.services.logs.ingest import create_logs, ingest_batch
from robofleet.server.services.logs.reading import list_logs, read_log, read_screenshot
from robofleet.server.services.logs.retention import purge_logs
from robofleet.server.services.logs.tail import open_tail

__all__ = [
    "create_logs",
    "ingest_batch",
    "list_logs",
    "open_tail",
    "purge_logs",
    "read_log",
    "read_screenshot",
]
