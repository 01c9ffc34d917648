"""The peers drained on the same PostgreSQL: PgQueuer and procrastinate (no-op jobs).

python -m bench.peers pgqueuer DSN JOBS BATCH CONSUMERS   -> "<jobs> <seconds> <cpu seconds>"
python -m bench.peers procrastinate DSN JOBS 1 CONCURRENCY
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time


async def pgqueuer_drain(dsn: str, jobs: int, batch: int, consumers: int) -> float:
    import asyncpg
    from pgqueuer import PgQueuer, types
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.models import Job
    from pgqueuer.queries import Queries

    setup = Queries(AsyncpgDriver(await asyncpg.connect(dsn)))
    await setup.install()
    for start in range(0, jobs, 10_000):
        size = min(10_000, jobs - start)
        await setup.enqueue(["noop"] * size, [b""] * size, [0] * size)
    workers = [PgQueuer(AsyncpgDriver(await asyncpg.connect(dsn))) for _ in range(consumers)]
    for worker in workers:

        @worker.entrypoint("noop")
        async def noop(job: Job) -> None:
            return None

    started = time.perf_counter()
    _cpu_started()
    await asyncio.gather(
        *(w.run(batch_size=batch, mode=types.QueueExecutionMode.drain) for w in workers)
    )
    return time.perf_counter() - started


async def procrastinate_drain(dsn: str, jobs: int, concurrency: int) -> float:
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))

    @app.task(name="noop")
    async def noop() -> None:
        return None

    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        for start in range(0, jobs, 5_000):
            await noop.batch_defer_async(*([{}] * min(5_000, jobs - start)))
        started = time.perf_counter()
        _cpu_started()
        await app.run_worker_async(
            wait=False, concurrency=concurrency, install_signal_handlers=False
        )
        return time.perf_counter() - started


_CPU_AT_START: list[float] = []


def _cpu_started() -> None:
    """This process's CPU time when the drain starts (set-up and enqueueing are not counted)."""
    _CPU_AT_START.append(_cpu())


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    peer, dsn, jobs, batch, workers = sys.argv[1:6]
    if peer == "pgqueuer":
        elapsed = asyncio.run(pgqueuer_drain(dsn, int(jobs), int(batch), int(workers)))
    else:
        elapsed = asyncio.run(procrastinate_drain(dsn, int(jobs), int(workers)))
    print(jobs, elapsed, _cpu() - _CPU_AT_START[0], flush=True)


if __name__ == "__main__":
    main()
