"""The long-lived parts a server process wires together once and hands to every request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from robofleet.server.db.blobs import LocalBlobStore
from robofleet.server.db.session import Database
from robofleet.server.domain.principals import Principal
from robofleet.server.domain.queue_rules import QueueRules
from robofleet.server.services.caches import WatchedCache
from robofleet.server.services.security import TokenCodec
from robofleet.server.services.wakeups import Wakeups
from robofleet.server.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    db: Database
    tokens: TokenCodec
    blobs: LocalBlobStore
    wakeups: Wakeups
    principals: WatchedCache[Principal]
    queues: WatchedCache[QueueRules]
    documents: WatchedCache[dict[str, Any]]
