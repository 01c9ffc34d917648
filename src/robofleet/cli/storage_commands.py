"""`robofleet storage put|get|ls|rm`: files of the Storage tab, streamed with progress bars."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from robofleet.cli.client import DEFAULT_SERVER, KeyOption, ServerOption, api, call, checked
from robofleet.contract import Api

app = typer.Typer(no_args_is_help=True)
console = Console(stderr=True)
BLOCK = 1024 * 1024
TIMEOUT = httpx.Timeout(60, read=600)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def _ref(ref: str) -> str:
    """A GUID, an id or a path `folder/sub/name`, escaped part by part for the URL."""
    return "/".join(quote(part, safe="") for part in ref.strip("/").split("/") if part)


def _blocks(path: Path, progress: Progress, task: Any) -> Iterator[bytes]:
    with path.open("rb") as source:
        while block := source.read(BLOCK):
            progress.advance(task, len(block))
            yield block


@app.command("put")
def put(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Local file.")],
    folder: Annotated[str, typer.Argument(help="Folder path (a/b), id or GUID; '' root.")] = "",
    name: Annotated[str | None, typer.Option(help="Name in storage [the file's name].")] = None,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """Upload a file (created, or replaced if the folder has one of that name)."""
    size = path.stat().st_size
    with api(server, key) as client, _progress() as progress:
        client.timeout = TIMEOUT
        task = progress.add_task(f"put {path.name}", total=size)
        row = call(
            client,
            "PUT",
            Api.FILES_UPLOAD,
            params={"name": name or path.name, "folder": folder},
            content=_blocks(path, progress, task),
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
        )
    typer.echo(f"{row['guid']}  {row['path']}  {row['size']} bytes  sha256 {row['sha256']}")


@app.command("get")
def get(
    ref: Annotated[str, typer.Argument(help="The file: folder/name path, id or GUID.")],
    dest: Annotated[Path | None, typer.Argument(help="Where to save [its name, here].")] = None,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """Download a file; the SHA-256 the server sends is checked."""
    target = dest or Path(ref.rstrip("/").rsplit("/", 1)[-1])
    if target.is_dir():
        target = target / ref.rstrip("/").rsplit("/", 1)[-1]
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    with api(server, key) as client, _progress() as progress:
        client.timeout = TIMEOUT
        url = Api.FILES_DOWNLOAD.format(ref=_ref(ref))
        try:
            with client.stream("GET", url) as response:
                if not response.is_success:
                    response.read()
                    checked(response)
                total = int(response.headers.get("content-length", 0)) or None
                task = progress.add_task(f"get {target.name}", total=total)
                with partial.open("wb") as out:
                    for block in response.iter_bytes(BLOCK):
                        digest.update(block)
                        out.write(block)
                        progress.advance(task, len(block))
                expected = response.headers.get("x-sha256")
        except httpx.HTTPError as exc:
            partial.unlink(missing_ok=True)
            typer.echo(f"download failed: {exc}", err=True)
            raise typer.Exit(1) from None
    if expected and expected != digest.hexdigest():
        partial.unlink(missing_ok=True)
        typer.echo("download damaged: its SHA-256 differs from the server's", err=True)
        raise typer.Exit(1)
    partial.replace(target)
    typer.echo(f"{target}  sha256 {digest.hexdigest()}")


@app.command("ls")
def ls(
    folder: Annotated[
        str | None, typer.Argument(help="Folder path, id or GUID; none: all.")
    ] = None,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """The folders and files in a folder (or every one)."""
    params = {} if folder is None else {"folder": folder}
    with api(server, key) as client:
        folders = call(
            client, "GET", Api.FOLDERS_LIST, params={} if folder is None else {"parent": folder}
        )
        files = call(client, "GET", Api.FILES_LIST, params={**params, "count": 1000})
    table = Table("kind", "path", "size", "type", "updated")
    for row in folders:
        table.add_row("folder", row["path"] + "/", "", "", row["updated_at"])
    for row in files:
        table.add_row("file", row["path"], str(row["size"]), row["content_type"], row["updated_at"])
    Console().print(table)


@app.command("rm")
def rm(
    ref: Annotated[str, typer.Argument(help="The file: folder/name path, id or GUID.")],
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """Delete a file."""
    with api(server, key) as client:
        call(client, "DELETE", Api.FILES_DELETE.format(ref=_ref(ref)))
    typer.echo(f"deleted {ref}")
