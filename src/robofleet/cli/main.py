"""The `robofleet` command."""

from __future__ import annotations

import typer

from robofleet.cli import (
    db_commands,
    job_commands,
    log_commands,
    process_commands,
    queue_commands,
    resource_commands,
    robot_commands,
    secrets_commands,
    server_commands,
    storage_commands,
    trigger_commands,
)

app = typer.Typer(
    name="robofleet",
    help="Robofleet: orchestrator for software robots.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("server", help="Run the server (API, web UI, scheduler).")(server_commands.server)
robot_app = typer.Typer(invoke_without_command=True)
robot_app.callback()(robot_commands.robot)
robot_app.command("list", help="Robots with their status.")(job_commands.list_robots)
app.add_typer(
    robot_app,
    name="robot",
    help="Run a robot agent (robofleet robot --server URL --robot GUID), or list robots.",
)
app.add_typer(db_commands.app, name="db", help="Database schema commands.")
app.add_typer(process_commands.app, name="process", help="Publish process versions.")
app.add_typer(job_commands.app, name="job", help="Start, follow and list jobs.")
app.add_typer(queue_commands.app, name="queue", help="Add tasks to queues, list queues.")
app.add_typer(queue_commands.tasks_app, name="task", help="List the tasks of a queue.")
app.add_typer(resource_commands.app, name="resource", help="Set, read and list resources (assets).")
app.add_typer(
    secrets_commands.app, name="secrets", help="Rotate the keys that encrypt stored passwords."
)
app.add_typer(storage_commands.app, name="storage", help="Files in storage: put, get, ls, rm.")
app.add_typer(log_commands.app, name="log", help="Follow robot log lines live.")
app.add_typer(
    trigger_commands.app,
    name="trigger",
    help="Triggers: create jobs on a schedule, from a queue or from e-mail.",
)
