"""`robofleet process ...`: publish a package as a new version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from robofleet.cli.client import DEFAULT_SERVER, KeyOption, ServerOption, api, call
from robofleet.contract import Api

app = typer.Typer(no_args_is_help=True)


class _ProgressFile:
    """Wraps the upload so the progress bar follows the bytes sent."""

    def __init__(self, path: Path, progress: Progress, task: int) -> None:
        self._file = path.open("rb")
        self._progress = progress
        self._task = task

    def read(self, size: int = -1) -> bytes:
        chunk = self._file.read(size)
        self._progress.update(self._task, advance=len(chunk))  # type: ignore[arg-type]
        return chunk

    def close(self) -> None:
        self._file.close()


@app.command("publish")
def publish(
    path: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="A .zip package (robofleet.json, or robot.yaml: a Robocorp robot), a .py script "
            "or a .robot suite.",
        ),
    ],
    name: Annotated[str, typer.Option("--name", help="Process name (created if missing).")],
    version: Annotated[str | None, typer.Option(help="Version name.")] = None,
    current: Annotated[bool, typer.Option(help="Make the new version current.")] = True,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """Upload a package as a new version of a process, with a progress bar."""
    with api(server, key, timeout=600) as client:
        found = client.get(Api.PROCESS_READ.format(guid=name))
        if found.status_code == 404:
            call(client, "POST", Api.PROCESS_CREATE, json={"Name": name})
        with Progress(
            *Progress.get_default_columns()[:1],
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            transient=True,
        ) as progress:
            task = progress.add_task(f"uploading {path.name}", total=path.stat().st_size)
            upload = _ProgressFile(path, progress, task)
            try:
                fields = {"ProcessGuid": name, "MakeCurrent": "1" if current else "0"}
                if version:
                    fields["Name"] = version
                created = call(
                    client,
                    "POST",
                    Api.PROCESS_VERSION_CREATE,
                    data=fields,
                    files={"ProcessFile": (path.name, upload, "application/octet-stream")},
                )
            finally:
                upload.close()
    typer.echo(
        f"published {created['kind']} version {created['guid']} of '{name}'"
        f"{' (current)' if created['is_current'] else ''}"
    )
