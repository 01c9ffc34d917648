"""The metric families written as work happens. Created once per process at import; in
multiprocess mode (PROMETHEUS_MULTIPROC_DIR set before the import) their values live in
per-process files that `exposition` merges."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# No `_created` series beside each counter and histogram: they double the scrape for a
# start time Prometheus does not use.
disable_created_metrics()  # type: ignore[no-untyped-call]

REQUEST_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""0.5 ms (a lean robot call) to 10 s (a long poll that found work late); longer is +Inf."""

DUTY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "robofleet_http_requests",
    "HTTP requests answered, by operation (OpenAPI operationId), method and status code.",
    ["operation", "method", "code"],
)
REQUEST_SECONDS = Histogram(
    "robofleet_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by operation and method.",
    ["operation", "method"],
    buckets=REQUEST_BUCKETS,
)

DUTY_SECONDS = Histogram(
    "robofleet_scheduler_duty_duration_seconds",
    "Run time of one scheduler duty in one tick of the leader (all its owners).",
    ["duty"],
    buckets=DUTY_BUCKETS,
)
DUTY_FAILURES = Counter(
    "robofleet_scheduler_duty_failures",
    "Failed runs of a scheduler duty (one per owner that failed, or per failed listing).",
    ["duty"],
)
DUTY_CHANGES = Counter(
    "robofleet_scheduler_duty_changes",
    "Rows a scheduler duty changed (robots disconnected, tasks released, lines deleted, ...).",
    ["duty"],
)

POOL_CONNECTIONS = Gauge(
    "robofleet_db_pool_connections",
    "Database connections of the server's pool by state: checked_out (in use), idle "
    "(open, in the pool), overflow (opened beyond the pool size).",
    ["state"],
    multiprocess_mode="livesum",
)
POOL_LIMIT = Gauge(
    "robofleet_db_pool_max_connections",
    "Most connections the pool opens (pool size plus overflow); checked_out at this limit "
    "means requests wait for a connection.",
    multiprocess_mode="livesum",
)
POOL_WAITERS = Gauge(
    "robofleet_db_pool_waiters",
    "Threads waiting for a free database connection (the pool is at its limit).",
    multiprocess_mode="livesum",
)
DRIVER_POOL_CONNECTIONS = Gauge(
    "robofleet_db_driver_pool_connections",
    "Connections of the robot path's own PostgreSQL pool (asyncpg) by state: in_use, idle. "
    "None on SQLite.",
    ["state"],
    multiprocess_mode="livesum",
)
DRIVER_POOL_LIMIT = Gauge(
    "robofleet_db_driver_pool_max_connections",
    "Most connections the robot path's pool opens (0 on SQLite); in_use at this limit means "
    "robot requests wait for a connection.",
    multiprocess_mode="livesum",
)
DRIVER_POOL_WAITERS = Gauge(
    "robofleet_db_driver_pool_waiters",
    "Robot requests waiting for a connection of the robot path's pool.",
    multiprocess_mode="livesum",
)
