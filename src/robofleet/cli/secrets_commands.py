"""`robofleet secrets ...`: rotating the keys that encrypt credential passwords.

Runs against the database of the settings (ROBOFLEET_DATABASE_URL / --data-dir, like
`robofleet db`), while servers keep serving: both keys decrypt until it finishes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from robofleet.cli.server_commands import settings_from

app = typer.Typer(no_args_is_help=True)

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (ROBOFLEET_DATA_DIR); its secret.key too."),
]


@app.command("rotate")
def rotate(
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per transaction.")] = 200,
    max_batches: Annotated[
        int | None,
        typer.Option(min=1, help="Stop after this many batches; run again to resume."),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Re-encrypt every credential password under a new data key, then retire the old
    keys. Interrupted, it resumes where it stopped when run again."""
    from robofleet.server.domain.errors import RobofleetError
    from robofleet.server.runtime_setup import build_runtime
    from robofleet.server.services.resources.rotation import rotate_keys

    runtime = build_runtime(settings_from(data_dir=data_dir))
    try:
        report = rotate_keys(
            runtime,
            batch_size=batch_size,
            max_batches=max_batches,
            on_batch=lambda moved: typer.echo(f"re-encrypted {moved} secret(s)"),
        )
    except RobofleetError as exc:
        typer.echo(f"rotation stopped: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.db.dispose()
    verb = "resumed" if report.resumed else "started"
    typer.echo(f"rotation {verb}: new data key {report.key_id}")
    typer.echo(f"{report.reencrypted} secret(s) re-encrypted")
    if report.finished:
        typer.echo(f"finished: {len(report.retired)} old data key(s) retired")
    else:
        typer.echo("stopped before the end: run `robofleet secrets rotate` again to finish")


@app.command("status")
def status(data_dir: DataDirOption = None) -> None:
    """How many data keys are active, retiring (a rotation is under way) and retired."""
    from robofleet.server.runtime_setup import build_runtime
    from robofleet.server.services.resources.rotation import key_states

    runtime = build_runtime(settings_from(data_dir=data_dir))
    try:
        states = key_states(runtime)
    finally:
        runtime.db.dispose()
    for state in ("active", "retiring", "retired"):
        typer.echo(f"{state}: {states.get(state, 0)}")
