"""One benchmark taker process: take and finish until the queue is empty.

python -m bench.taker URL KEY QUEUE BATCH  -> prints "ready" once connected, starts on a line
"go" on stdin, then prints "<tasks finished> <seconds> <its own CPU seconds>"

The driver starts its clock when every taker has said "ready" (the interpreter's start-up,
imports and the connection are not part of the drain).
"""

from __future__ import annotations

import sys
import time

from bench.raw_client import RawClient


def main() -> None:
    url, key, queue, batch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    client = RawClient(url, key)
    status, _ = client.get("/healthz")  # the keep-alive connection is open before the clock
    assert status == 200
    print("ready", flush=True)
    sys.stdin.readline()
    done = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    while True:
        status, body = client.post("/api/task/take", {"Queue": queue, "Count": batch})
        if status != 200:
            raise SystemExit(f"take answered {status}: {body}")
        tasks = body["tasks"]
        if not tasks:
            break
        if batch == 1:
            task = tasks[0]
            status, _ = client.post(
                "/api/task/finish", {"Guid": task["guid"], "LeaseId": task["lease_id"], "Status": 2}
            )
        else:
            status, _ = client.post(
                "/api/task/finish",
                {
                    "Items": [
                        {"Guid": t["guid"], "LeaseId": t["lease_id"], "Status": 2} for t in tasks
                    ]
                },
            )
        if status != 200:
            raise SystemExit(f"finish answered {status}")
        done += len(tasks)
    print(done, time.perf_counter() - started, time.process_time() - cpu_started, flush=True)


if __name__ == "__main__":
    main()
