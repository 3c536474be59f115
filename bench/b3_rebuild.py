"""B3: events per second rebuilding the query service's read models from the EventLogs, against
raw reading of the same EventLogs in the same run (targets: >= 10,000 events/s, ratio >= 0.3).

The EventLogs are served over gRPC (in-process servers on loopback) from a seeded scenario of
complaints with reassignments, responses, resolutions and reopenings. The read models live in
SQLite (default) or, with `--store postgresql`, in a fresh database on the server named by
ADUAN_TEST_POSTGRES_URL (dropped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from common import write_result

from aduan.contract.eventlog import EventLogReader
from aduan.core.settings import WRITE_SERVICES
from aduan_devtools.testing.query import scenario, serve_eventlogs
from aduan_query.readmodels import make_engine, migrate
from aduan_query.rebuild import Rebuilder


async def raw_read(reader: EventLogReader) -> int:
    count = 0
    for service in WRITE_SERVICES:
        async for _ in reader.read(service):
            count += 1
    return count


@contextlib.contextmanager
def store_url(store: str, scratch: Path) -> Iterator[str]:
    if store == "sqlite":
        yield f"sqlite:///{scratch / 'query.sqlite'}"
        return
    import psycopg

    base = os.environ.get("ADUAN_TEST_POSTGRES_URL")
    if not base:
        sys.exit("--store postgresql needs ADUAN_TEST_POSTGRES_URL (a server on 127.0.0.1)")
    name = f"aduan_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(urlparse(base)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def run(complaints: int, seed: int, store: str) -> dict[str, object]:
    history, _ = scenario(complaints, seed=seed)
    total = sum(len(log) for log in history.logs.values())
    async with serve_eventlogs(history.logs) as (addresses, _fakes):
        reader = EventLogReader(addresses)
        try:
            started = time.perf_counter()
            read = await raw_read(reader)
            raw_seconds = time.perf_counter() - started
            with tempfile.TemporaryDirectory() as scratch, store_url(store, Path(scratch)) as url:
                engine = make_engine(url)
                migrate(engine)
                started = time.perf_counter()
                result = await Rebuilder(engine, reader, WRITE_SERVICES).rebuild()
                rebuild_seconds = time.perf_counter() - started
                engine.dispose()
        finally:
            await reader.close()
    assert read == total, (read, total)
    rebuild_rate = result.events / rebuild_seconds
    raw_rate = read / raw_seconds
    ratio = rebuild_rate / raw_rate
    return {
        "complaints": complaints,
        "events": total,
        "store": store,
        "rebuild_events_per_second": round(rebuild_rate),
        "baseline": {
            "what": "raw EventLog read of the same events over gRPC",
            "events_per_second": round(raw_rate),
        },
        "ratio": round(ratio, 3),
        "targets": {"events_per_second": 10_000, "ratio": 0.3},
        "meets_targets": rebuild_rate >= 10_000 and ratio >= 0.3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--complaints", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    name = "B3-rebuild" if args.store == "sqlite" else "B3-rebuild-postgresql"
    write_result(name, asyncio.run(run(args.complaints, args.seed, args.store)))


if __name__ == "__main__":
    main()
