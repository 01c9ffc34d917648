"""Server-Sent Events as a test client reads them: the JSON of each event's `data:` line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any


def sse_events(lines: Iterable[str]) -> Iterator[Any]:
    """Each event of a text/event-stream, decoded, as its blank line ends it."""
    data = ""
    for line in lines:
        if line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif not line and data:
            yield json.loads(data)
            data = ""
