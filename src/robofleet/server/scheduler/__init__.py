"""Time-driven work, run by one leader among the server processes."""
