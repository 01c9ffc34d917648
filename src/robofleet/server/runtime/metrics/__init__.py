"""Prometheus metrics of a server process (docs/metrics.md lists every family).

`families` holds the counters and histograms the request path and the scheduler write to;
`exposition` renders them, with the gauges computed at scrape time, in one or several worker
processes (prometheus-client's multiprocess mode)."""
