"""The HTTP client operator commands share: server URL and API key from options or env."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer

from robofleet.contract import API_KEY_VARIABLE, JobEnv, server_urls

# The same variables a job script's SDK reads.
ServerOption = Annotated[
    str,
    typer.Option(
        "--server",
        envvar=JobEnv.SERVER.value,
        help="Server URL, or several nodes' URLs separated by commas.",
    ),
]
KeyOption = Annotated[
    str, typer.Option("--key", envvar=API_KEY_VARIABLE, help="The account's API key.")
]
DEFAULT_SERVER = "http://127.0.0.1:8000"


def api(server: str, key: str, *, timeout: float = 60) -> httpx.Client:
    if not key:
        typer.echo(f"no API key: pass --key or set {API_KEY_VARIABLE}", err=True)
        raise typer.Exit(2)
    try:
        urls = server_urls(server)
    except ValueError as exc:
        typer.echo(f"--server / {JobEnv.SERVER}: {exc} (got {server!r})", err=True)
        raise typer.Exit(2) from None
    return httpx.Client(
        base_url=urls[0],
        headers={"Key": key},
        timeout=timeout,
        transport=NextServerOnConnectError(urls) if len(urls) > 1 else None,
    )


class NextServerOnConnectError(httpx.HTTPTransport):
    """Several nodes: a request goes to the next when a node takes no connection (nothing was
    sent, so any request may go elsewhere)."""

    def __init__(self, urls: list[str]) -> None:
        super().__init__()
        self._urls = [httpx.URL(url) for url in urls]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        first = self._urls[0]
        suffix = request.url.raw_path[len(first.raw_path.rstrip(b"/")) :]
        for index, url in enumerate(self._urls):
            request.url = url.copy_with(raw_path=url.raw_path.rstrip(b"/") + suffix)
            request.headers["Host"] = url.netloc.decode("ascii")
            try:
                return super().handle_request(request)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                if index == len(self._urls) - 1:
                    raise
        raise AssertionError("unreachable")


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
