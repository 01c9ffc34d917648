"""A queue taker in its own process, over HTTP: take, finish Success, repeat until the queue
stays empty. Writes each task GUID it finished to a file, one per line.

python -m tests.support.taker URL KEY QUEUE OUT_FILE [--batch N] [--hold SECONDS]
"""

from __future__ import annotations

import argparse
import time

import httpx


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("key")
    parser.add_argument("queue")
    parser.add_argument("out")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--hold", type=float, default=0.0, help="seconds to hold each task")
    parser.add_argument("--lease", type=int, default=60)
    args = parser.parse_args()
    empty_since: float | None = None
    with (
        httpx.Client(base_url=args.url, headers={"Key": args.key}, timeout=60) as client,
        open(args.out, "a", buffering=1) as out,
    ):
        while True:
            taken = client.post(
                "/api/task/take",
                json={"Queue": args.queue, "Count": args.batch, "LeaseSeconds": args.lease},
            )
            taken.raise_for_status()
            tasks = taken.json()["tasks"]
            if not tasks:
                empty_since = empty_since or time.monotonic()
                if time.monotonic() - empty_since > 2:
                    return
                time.sleep(0.05)
                continue
            empty_since = None
            out.write("".join(f"taken {t['guid']}\n" for t in tasks))
            if args.hold:
                time.sleep(args.hold)
            items = [{"Guid": t["guid"], "LeaseId": t["lease_id"], "Status": 2} for t in tasks]
            done = client.post("/api/task/finish", json={"Items": items})
            done.raise_for_status()
            for result in done.json()["results"]:
                out.write(f"{'done' if result['ok'] else 'refused'} {result['guid']}\n")


if __name__ == "__main__":
    main()
