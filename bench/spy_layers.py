"""Share of py-spy raw samples by layer: each sample goes to the innermost frame that names a
known layer (the table in docs/benchmarks.md, "Lean front").

    .venv/bin/python -m bench.spy_layers FILE.raw    # from bench.front_cpu --py-spy FILE.raw
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path

LAYERS = [
    ("psycopg", "psycopg"),
    ("sqlite3", "sqlite (driver)"),
    ("sqlalchemy", "SQLAlchemy"),
    ("fastapi", "FastAPI"),
    ("starlette", "Starlette"),
    ("uvicorn", "uvicorn"),
    ("h11", "uvicorn"),
    ("httptools", "uvicorn"),
    ("pydantic", "pydantic"),
    ("anyio", "thread hop (anyio)"),
    ("concurrent/futures", "thread hop (executor)"),
    ("threading.py", "thread hop (threading)"),
    ("queue.py", "thread hop (threading)"),
    ("asyncio", "asyncio loop"),
    ("robofleet/server/api/fast", "lean front"),
    ("robofleet/server/api", "robofleet api"),
    ("robofleet/server/services", "services"),
    ("robofleet/server/db", "robofleet db"),
    ("robofleet/server/runtime", "runtime"),
    ("robofleet/server/domain", "domain"),
    ("robofleet/server/schemas", "schemas"),
    ("orjson", "orjson"),
    ("json", "json"),
]


def layer(frame: str) -> str | None:
    for needle, name in LAYERS:
        if needle in frame:
            return name
    return None


def main(path: str) -> None:
    totals: collections.Counter[str] = collections.Counter()
    all_samples = 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not count.isdigit():  # py-spy writes a blank line between threads' dumps
            continue
        n = int(count)
        all_samples += n
        frames = stack.split(";")
        name = "other"
        for frame in reversed(frames):
            found = layer(frame)
            if found:
                name = found
                break
        totals[name] += n
    for name, n in totals.most_common():
        print(f"{name:28s} {100 * n / all_samples:5.1f}%")
    print("samples", all_samples)


if __name__ == "__main__":
    main(sys.argv[1])
