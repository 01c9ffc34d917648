"""Queues and tasks: CRUD, the one module that writes task status (state), leases, timers,
filters and read shapes. Their SQL lives in db.task_statements."""
