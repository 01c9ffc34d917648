"""Builds the runtime (database, caches, keys, wake-ups) from the settings: what the server
and the `robofleet db` / `robofleet secrets` commands share. It loads no route, so those
commands start without importing the whole API."""

from __future__ import annotations

from robofleet.server.db.audit import install_audit
from robofleet.server.db.blobs.factory import open_blob_store
from robofleet.server.db.engine import make_engine
from robofleet.server.db.session import Database
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.arrivals import TaskArrivals
from robofleet.server.runtime.caches import (
    BACKSTOP_TTL_SECONDS,
    IDENTITY_ROWS,
    NEW_IDENTITIES_HARMLESS,
    PROCESS_ROWS,
    QUEUE_ROWS,
    WatchedCache,
)
from robofleet.server.runtime.job_tokens import JobTokens
from robofleet.server.runtime.metrics.exposition import MetricsExposition
from robofleet.server.runtime.planner_statistics import PlannerStatistics
from robofleet.server.runtime.secret_box import SecretBox
from robofleet.server.runtime.security import TokenCodec, load_or_create_secret
from robofleet.server.runtime.signing import UrlSigner
from robofleet.server.runtime.vault_key import VaultKey
from robofleet.server.runtime.wakeups import LOG_CHANNEL, Wakeups
from robofleet.server.settings import Settings


def build_runtime(settings: Settings) -> Runtime:
    engine = make_engine(
        settings.resolved_database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        pool_size=settings.db_pool_size,
    )
    secret = settings.secret_key or load_or_create_secret(settings.data_dir / "secret.key")
    db = Database(engine)
    install_audit(db)
    return Runtime(
        settings=settings,
        db=db,
        tokens=TokenCodec(secret),
        blobs=open_blob_store(settings),
        wakeups=Wakeups(db.dialect),
        # Every robot call authenticates; a change to who a credential is empties the cache at
        # once (commit, NOTIFY, a listener's reconnection), so the age limit is only a backstop:
        # at 30 s, 8 % of a 1,000-robot fleet's requests were lookups.
        principals=WatchedCache(
            "principals",
            IDENTITY_ROWS,
            ttl_seconds=BACKSTOP_TTL_SECONDS,
            new_rows_harmless=NEW_IDENTITIES_HARMLESS,
        ),
        queues=WatchedCache("queues", QUEUE_ROWS, ttl_seconds=BACKSTOP_TTL_SECONDS),
        documents=WatchedCache("documents", PROCESS_ROWS),
        secret_box=SecretBox(secret),
        storage_urls=UrlSigner(secret, "storage file"),
        job_tokens=JobTokens(secret),
        robocorp_urls=UrlSigner(secret, "robocorp upload"),
        vault_key=VaultKey(settings.data_dir / "robocorp-vault-key.pem"),
        log_wakeups=Wakeups(db.dialect, channel=LOG_CHANNEL),
        task_arrivals=TaskArrivals(db.dialect),
        planner_statistics=(
            PlannerStatistics(db.engine) if db.dialect.analyze_after_bulk_adds else None
        ),
        metrics=MetricsExposition(db) if settings.metrics_enabled else None,
    )
