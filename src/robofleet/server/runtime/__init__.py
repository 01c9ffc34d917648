"""The long-lived parts a server process wires together once and hands to every request.

Plain infrastructure: this package imports only server.domain, server.db and
server.settings (an import contract keeps it so), never a service.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from robofleet.server.db.blobs import BlobStore
from robofleet.server.db.driver_pool import DriverPool
from robofleet.server.db.session import Database
from robofleet.server.db.task_statements.one_trip import MEMBERS_MOST
from robofleet.server.domain.principals import Principal
from robofleet.server.domain.queue_rules import QueueRules
from robofleet.server.runtime.arrivals import TaskArrivals
from robofleet.server.runtime.caches import WatchedCache
from robofleet.server.runtime.coalescer import Coalescer
from robofleet.server.runtime.job_tokens import JobTokens
from robofleet.server.runtime.metrics.exposition import MetricsExposition
from robofleet.server.runtime.planner_statistics import PlannerStatistics
from robofleet.server.runtime.rate_limit import TokenBuckets
from robofleet.server.runtime.secret_box import SecretBox
from robofleet.server.runtime.security import TokenCodec
from robofleet.server.runtime.signing import UrlSigner
from robofleet.server.runtime.vault_key import VaultKey
from robofleet.server.runtime.wakeups import Wakeups
from robofleet.server.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    db: Database
    tokens: TokenCodec
    blobs: BlobStore
    wakeups: Wakeups
    principals: WatchedCache[Principal]
    queues: WatchedCache[QueueRules]
    documents: WatchedCache[dict[str, Any]]
    secret_box: SecretBox
    """Encrypts credential passwords (resources) under data keys wrapped by the master key."""
    storage_urls: UrlSigner
    job_tokens: JobTokens
    """The bearer tokens of Robocorp robots (services.robocorp)."""
    robocorp_urls: UrlSigner
    """Signed URLs that upload work item files and assets (services.robocorp)."""
    vault_key: VaultKey
    """The RSA key pair of the Robocorp vault's transit encryption."""
    log_wakeups: Wakeups | None = None
    """Live log tails waiting for lines (None: tails poll)."""
    task_arrivals: TaskArrivals | None = None
    """Tasks added to a queue a trigger watches (None: no trigger reacts at once)."""
    metrics: MetricsExposition | None = None
    """What /metrics renders (None: metrics are off, settings.metrics_enabled)."""
    driver_pool: DriverPool | None = None
    """PostgreSQL's async driver connections for the lean front's take, finish and renew
    (services.tasks.on_driver), opened on the server's loop in the app's lifespan; None on
    SQLite, with the front off, or outside a running server."""
    planner_statistics: PlannerStatistics | None = None
    """Refreshes PostgreSQL's statistics of the tasks table after bulk adds (None: SQLite)."""
    log_rate: TokenBuckets = field(default_factory=TokenBuckets)
    """Log lines per robot, in this process (settings.log_lines_per_second_per_robot)."""
    take_groups: Coalescer[int, dict[str, Any], list[tuple[Any, ...]]] = field(
        default_factory=lambda: Coalescer(most=MEMBERS_MOST)
    )
    """PostgreSQL's one-task takes of a queue that arrive while one runs, run together
    (services.tasks.on_driver), keyed by queue id."""
    finish_groups: Coalescer[Hashable, dict[str, Any], list[tuple[Any, ...]]] = field(
        default_factory=lambda: Coalescer(most=MEMBERS_MOST)
    )
    """PostgreSQL's finishes of one task without output or error that arrive while one of
    the same outcome runs, run together (services.tasks.on_driver)."""
