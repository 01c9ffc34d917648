"""The HTTP client operator commands share: server URL and API key from options or env."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer

from robofleet.contract import API_KEY_VARIABLE, JobEnv

# The same variables a job script's SDK reads.
ServerOption = Annotated[
    str, typer.Option("--server", envvar=JobEnv.SERVER.value, help="Server URL.")
]
KeyOption = Annotated[
    str, typer.Option("--key", envvar=API_KEY_VARIABLE, help="The account's API key.")
]
DEFAULT_SERVER = "http://127.0.0.1:8000"


def api(server: str, key: str, *, timeout: float = 60) -> httpx.Client:
    if not key:
        typer.echo(f"no API key: pass --key or set {API_KEY_VARIABLE}", err=True)
        raise typer.Exit(2)
    return httpx.Client(base_url=server.rstrip("/"), headers={"Key": key}, timeout=timeout)


def checked(response: httpx.Response) -> Any:
    """The JSON body of a 2xx answer; otherwise exit with the server's message."""
    if response.is_success:
        return response.json() if response.content else None
    try:
        message = response.json().get("message", response.text)
    except ValueError:
        message = response.text
    typer.echo(f"error {response.status_code}: {message}", err=True)
    raise typer.Exit(1)


def call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    try:
        return checked(client.request(method, path, **kwargs))
    except httpx.HTTPError as exc:
        typer.echo(f"cannot reach the server at {client.base_url}: {exc}", err=True)
        raise typer.Exit(1) from None
