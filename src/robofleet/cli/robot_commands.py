"""`robofleet robot`: run a robot agent that takes and runs jobs."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from robofleet.robot.config import AgentSettings, AgentSettingsError, load_agent_settings


def agent_settings_from(**overrides: object) -> AgentSettings:
    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return load_agent_settings(**given)
    except AgentSettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # One line per request (every heartbeat) would drown the agent's own messages.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def robot(
    ctx: typer.Context,
    server: Annotated[
        str | None,
        typer.Option(
            help="Server URL, or several nodes' URLs separated by commas (env ROBOFLEET_SERVER)"
        ),
    ] = None,
    robot_guid: Annotated[
        str | None,
        typer.Option("--robot", help="The robot's GUID (env ROBOFLEET_ROBOT_GUID)"),
    ] = None,
    secret: Annotated[
        str | None,
        typer.Option(
            "--secret",
            help="The robot's secret, sent with its GUID (env ROBOFLEET_ROBOT_SECRET, "
            "which keeps it out of the process list)",
        ),
    ] = None,
    work_dir: Annotated[
        Path | None,
        typer.Option(help="Job folders and outbox (env ROBOFLEET_WORK_DIR)"),
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(help="Packages and environments, shareable (env ROBOFLEET_CACHE_DIR)"),
    ] = None,
    heartbeat_interval: Annotated[
        float | None,
        typer.Option(help="Seconds between heartbeats (env ROBOFLEET_HEARTBEAT_INTERVAL)"),
    ] = None,
    wait_timeout: Annotated[
        float | None,
        typer.Option(help="Seconds to wait for a job per request (env ROBOFLEET_WAIT_TIMEOUT)"),
    ] = None,
    stop_grace: Annotated[
        float | None,
        typer.Option(help="Seconds from a soft stop to the kill (env ROBOFLEET_STOP_GRACE)"),
    ] = None,
) -> None:
    """Run a robot agent that takes and runs jobs (`robofleet robot list` lists robots)."""
    if ctx.invoked_subcommand is not None:
        return
    from robofleet.robot.agent import Agent, end_process

    settings = agent_settings_from(
        server=server,
        robot_guid=robot_guid,
        robot_secret=secret,
        work_dir=work_dir,
        cache_dir=cache_dir,
        heartbeat_interval=heartbeat_interval,
        wait_timeout=wait_timeout,
        stop_grace=stop_grace,
    )
    configure_logging(settings.log_level)
    agent = Agent(settings)
    agent.install_signal_handlers()
    end_process(agent.run())
