"""`robofleet resource set|get|list`: resources from the command line.

A password never comes from the command line's arguments (they show in `ps` and shell
history): it is prompted for, or read from standard input with --password-stdin.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from robofleet.cli.client import DEFAULT_SERVER, KeyOption, ServerOption, api, call
from robofleet.contract import Api

app = typer.Typer(no_args_is_help=True)
console = Console()
TYPES = {"credentials": 1, "text": 2, "calendar": 3}
TYPE_NAMES = {number: name for name, number in TYPES.items()}


def _scope(scope: str) -> dict[str, Any]:
    """`all`, `group:<robot group>` or `robot:<robot>` as the API's scope fields."""
    kind, _, ref = scope.partition(":")
    if kind == "all" and not ref:
        return {"RobotType": 3}
    if kind == "group" and ref:
        return {"RobotType": 2, "RobotGroupId": ref}
    if kind == "robot" and ref:
        return {"RobotType": 1, "RobotId": ref}
    raise typer.BadParameter("use all, group:<robot group> or robot:<robot>", param_hint="--scope")


def _existing(client: httpx.Client, name: str, scope: dict[str, Any]) -> str | None:
    """The GUID of the resource with this name at exactly this scope, if any."""
    query = {"Name": name, **{k: v for k, v in scope.items()}}
    page = call(client, "GET", Api.ASSET_LIST, params=query)
    return str(page["items"][0]["guid"]) if page["items"] else None


def _password(kind: int, from_stdin: bool) -> str | None:
    if kind != TYPES["credentials"]:
        if from_stdin:
            raise typer.BadParameter(
                "only credentials have a password", param_hint="--password-stdin"
            )
        return None
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


@app.command("set")
def set_resource(
    name: Annotated[str, typer.Argument(help="The resource's name.")],
    value: Annotated[
        str | None, typer.Argument(help="Text value, or the login of credentials.")
    ] = None,
    kind: Annotated[str, typer.Option("--type", help="text, credentials or calendar.")] = "text",
    file: Annotated[
        Path | None,
        typer.Option("--file", exists=True, dir_okay=False, help="Read the value from a file."),
    ] = None,
    scope: Annotated[str, typer.Option(help="all, group:<robot group> or robot:<robot>.")] = "all",
    description: Annotated[str | None, typer.Option(help="Description.")] = None,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input."),
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """Create the resource, or update the one of that name at that scope. Credentials ask
    for the password (or read it from standard input)."""
    if kind not in TYPES:
        raise typer.BadParameter("use text, credentials or calendar", param_hint="--type")
    number = TYPES[kind]
    text = file.read_text(encoding="utf-8") if file else value
    fields: dict[str, Any] = {"Type": number, **_scope(scope)}
    if text is not None:
        fields["Text"] = text
    if description is not None:
        fields["Description"] = description
    password = _password(number, password_stdin)
    if password:
        fields["Password"] = password
    with api(server, key) as client:
        guid = _existing(client, name, _scope(scope))
        if guid is None:
            guid = call(client, "POST", Api.ASSET_CREATE, json={"Name": name, **fields})["guid"]
            console.print(f"created {TYPE_NAMES[number]} resource '{name}' {guid}")
        else:
            call(client, "PUT", Api.ASSET_UPDATE, json={"Guid": guid, **fields})
            console.print(f"updated {TYPE_NAMES[number]} resource '{name}' {guid}")


@app.command("get")
def get_resource(
    ref: Annotated[str, typer.Argument(help="The resource's id, GUID or name.")],
    show_password: Annotated[
        bool, typer.Option("--show-password", help="Print the password (if you may see it).")
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """A resource's value; a password only with --show-password."""
    with api(server, key) as client:
        row = call(client, "GET", Api.ASSET_READ.format(guid=ref))
    console.print(f"{row['name']} ({row['type_name']}, {row['guid']})", highlight=False)
    label = "login" if row["type"] == TYPES["credentials"] else "text"
    typer.echo(f"{label}: {row['text']}")
    if row["password"] is not None:
        typer.echo(f"password: {row['password'] if show_password else '********'}")
    if row["password_expiration"]:
        typer.echo(f"password expires: {row['password_expiration']} UTC")


@app.command("list")
def list_resources(
    kind: Annotated[
        str | None, typer.Option("--type", help="text, credentials or calendar.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Only this name.")] = None,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """Resources with their type and scope (never a password)."""
    params: dict[str, Any] = {"Count": 1000}
    if kind:
        if kind not in TYPES:
            raise typer.BadParameter("use text, credentials or calendar", param_hint="--type")
        params["Type"] = TYPES[kind]
    if name:
        params["Name"] = name
    with api(server, key) as client:
        page = call(client, "GET", Api.ASSET_LIST, params=params)
    scopes = {1: "robot", 2: "group", 3: "all"}
    table = Table("name", "type", "scope", "GUID", "updated")
    for row in page["items"]:
        target = row["robot_guid"] or row["robot_group_guid"] or ""
        table.add_row(
            row["name"],
            row["type_name"],
            f"{scopes[row['robot_type']]}{':' + target if target else ''}",
            row["guid"],
            row["updated_at"],
        )
    console.print(table)
