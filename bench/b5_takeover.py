"""B5: leader takeover time. Two replicas of intake on one PostgreSQL database and one NATS, with
complaints filed at a steady rate; the replica that leads (holds intake's relay lock) is killed
with SIGKILL, and the time is taken from the kill to the first event the new leader relays to
JetStream. Then the killed replica is started again (it stands by) and, after a pause, the
current leader is killed, `--kills` times. PostgreSQL only (ADUAN_TEST_POSTGRES_URL); intake gets
a fresh database, dropped afterwards.

How the figures are taken, all in this process on one monotonic clock:

- which replica leads: the backend holding the relay's advisory lock in pg_locks, whose
  application_name (`aduan-leader aduan:intake:relay pid=N`) names the process;
- `new_holder_ms`: kill → another backend holds the lock (pg_locks polled every 10 ms);
- `first_event_ms`, the takeover time: kill → the first event on `aduan.intake.>` published by
  another NATS connection than the old leader's (a core subscription sees every JetStream
  publish; a publish's reply inbox names its connection, so the old leader's last messages,
  still in flight at the kill, do not count).

The same-run baseline is the relay's ordinary latency between steady-state kills: FileComplaint
answered → its event seen on NATS (p50/p99), and the longest gap between events in the steady
windows. Events are checked afterwards: every position from 1 to the last is seen, none lost.

    uv run python bench/b5_takeover.py                # 20 kills at 10 filings/s
    uv run python bench/b5_takeover.py --kills 3      # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import secrets
import signal
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import grpc
from b1_intake import filing
from common import percentile, summary_ms, write_result

from aduan.eventstore.leader import PostgresLeadership, lock_ids, lock_key
from aduan.v1 import intake_pb2_grpc

ROLE = "aduan:intake:relay"
SUBJECTS = "aduan.intake.>"


class Observer:
    """Every intake event seen on NATS: arrival time, publishing connection, position."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, str, int]] = []
        self.first_seen: dict[int, float] = {}

    async def on_message(self, msg: Any) -> None:
        now = time.monotonic()
        headers = msg.headers or {}
        msg_id = headers.get("Nats-Msg-Id", "")
        position = int(msg_id.rsplit(":", 1)[1]) if ":" in msg_id else -1
        publisher = (msg.reply or "").rsplit(".", 1)[0]
        self.arrivals.append((now, publisher, position))
        self.first_seen.setdefault(position, now)


class Filer:
    """Files complaints at `rate` per second, each to the next live replica."""

    def __init__(self, addresses: list[str], token: str, rate: float) -> None:
        self.channels = [grpc.aio.insecure_channel(a) for a in addresses]
        self.stubs = [intake_pb2_grpc.IntakeStub(c) for c in self.channels]
        self.metadata = (("authorization", f"Bearer {token}"),)
        self.rate = rate
        self.accepted = 0
        self.failed = 0
        self.failures: dict[str, int] = {}  # the last status code of each failed filing
        self.failed_at: list[float] = []
        self.answered: list[float] = []  # times FileComplaint returned
        self._stop = asyncio.Event()
        self._run = uuid.uuid4().hex[:8]

    async def _one(self, n: int) -> None:
        request = filing(f"b5-{self._run}", n)
        code = ""
        for attempt in range(len(self.stubs) * 3):
            stub = self.stubs[(n + attempt) % len(self.stubs)]
            try:
                await stub.FileComplaint(request, metadata=self.metadata, timeout=5.0)
            except grpc.aio.AioRpcError as error:
                code = error.code().name
                await asyncio.sleep(0.1 * attempt)
                continue
            self.accepted += 1
            self.answered.append(time.monotonic())
            return
        self.failed += 1
        self.failures[code] = self.failures.get(code, 0) + 1
        self.failed_at.append(time.monotonic())

    async def run(self) -> None:
        tasks: set[asyncio.Task[None]] = set()
        start = time.monotonic()
        n = 0
        while not self._stop.is_set():
            task = asyncio.create_task(self._one(n))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
            delay = start + n / self.rate - time.monotonic()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=delay)
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in self.channels:
            await channel.close()

    def stop(self) -> None:
        self._stop.set()


async def lock_holder(conn: Any) -> tuple[int, int | None] | None:
    """(backend pid, OS pid of the process) holding the relay lock, or None."""
    classid, objid = lock_ids(lock_key(ROLE))
    cursor = await conn.execute(
        "SELECT l.pid, a.application_name FROM pg_locks l"
        " JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
        " AND l.classid = %s::bigint::oid AND l.objid = %s::bigint::oid"
        " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (classid, objid),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    name = row[1] or ""
    process = int(name.rsplit("pid=", 1)[1]) if "pid=" in name else None
    return row[0], process


def nats_connected(metrics_port: int) -> bool:
    """The replica's NATS health check passes (`aduan_dependency_up{dependency="nats"} 1`): a
    standby killed into leadership before its NATS link is up would measure its connecting, not
    the takeover."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return False
    return any(
        line.startswith("aduan_dependency_up{")
        and 'dependency="nats"' in line
        and float(line.rsplit(" ", 1)[1]) == 1.0
        for line in text.splitlines()
    )


async def ready(stack: Any) -> None:
    """SERVING and connected to NATS."""
    await asyncio.to_thread(stack.wait_serving, 90.0, ("intake",))
    port = stack.metrics_ports["intake"]
    await until(lambda: asyncio.to_thread(nats_connected, port), 60.0, step=0.2)


async def until(condition: Any, within: float, step: float = 0.01) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(step)


async def measure(args: argparse.Namespace, store_url: str, scratch: Path) -> dict[str, Any]:
    import nats
    import psycopg

    from aduan_devtools.natsserver import EmbeddedNats
    from aduan_devtools.stack import LocalStack

    nats_server = EmbeddedNats(scratch / "nats", log_file=scratch / "nats.log")
    nats_server.start()
    secret = secrets.token_urlsafe(32)
    shared_data = scratch / "intake-data"
    shared_data.mkdir()
    replicas = [
        LocalStack.on_free_ports(
            scratch / f"replica-{i}",
            nats_url=nats_server.url,
            jwt_secret=secret,
            log_format="json",
            # One store and one data directory (keys) for both, as replicas of one deployment.
            service_env={
                "intake": {"ADUAN_STORE_URL": store_url, "ADUAN_DATA_DIR": str(shared_data)}
            },
        )
        for i in range(2)
    ]
    observer = Observer()
    nc = await nats.connect(nats_server.url)
    await nc.subscribe(SUBJECTS, cb=observer.on_message)
    db = await psycopg.AsyncConnection.connect(store_url, autocommit=True)
    filer: Filer | None = None
    load: asyncio.Task[None] | None = None
    kills: list[dict[str, Any]] = []
    steady: list[tuple[float, float]] = []  # windows with no kill in them
    kill_times: list[float] = []
    try:
        for stack in replicas:
            stack.data_dir.mkdir(parents=True)
            stack.start_service("intake")
        for stack in replicas:
            await ready(stack)
        filer = Filer(
            [s.services["intake"].address for s in replicas],
            replicas[0].token("gateway", sub="bench"),
            args.rate,
        )
        load = asyncio.create_task(filer.run())
        steady_from = time.monotonic()
        await asyncio.sleep(args.warmup)
        for kill in range(args.kills):
            holder = await until(lambda: lock_holder(db), 30.0)
            backend, process_id = holder
            leader = next(
                s
                for s in replicas
                if (p := s.services["intake"].process) is not None and p.pid == process_id
            )
            # The leader's NATS connection: the publisher of the latest event.
            await until(lambda: asyncio.sleep(0, result=bool(observer.arrivals)), 30.0, step=0.05)
            old_publisher = observer.arrivals[-1][1]
            seen_before = len(observer.arrivals)
            killed_at = time.monotonic()
            steady.append((steady_from, killed_at))
            kill_times.append(killed_at)
            process = leader.services["intake"].process
            assert process is not None
            os.kill(process.pid, signal.SIGKILL)

            async def new_holder(old: int = backend) -> bool:
                now = await lock_holder(db)
                return now is not None and now[0] != old

            await until(new_holder, args.timeout)
            new_holder_at = time.monotonic()

            def first_new_event(
                since: int = seen_before, old: str = old_publisher, kill_time: float = killed_at
            ) -> float | None:
                return next(
                    (t for t, who, _ in observer.arrivals[since:] if who != old and t > kill_time),
                    None,
                )

            first_event_at = await until(
                lambda: asyncio.sleep(0, result=first_new_event()), args.timeout
            )
            await asyncio.to_thread(process.wait)
            record = {
                "kill": kill + 1,
                "new_holder_ms": round((new_holder_at - killed_at) * 1000, 1),
                "first_event_ms": round((first_event_at - killed_at) * 1000, 1),
            }
            kills.append(record)
            print(record, file=sys.stderr, flush=True)
            # The killed replica comes back and stands by.
            leader.start_service("intake")
            await ready(leader)
            steady_from = time.monotonic()
            await asyncio.sleep(args.pause)
        filer.stop()
        await load
        load = None
        # Every stored event reaches NATS. Compared with the store, not with 1..last: a filing
        # whose transaction died with its replica leaves its notification id unused (a
        # PostgreSQL sequence does not roll back), a gap that is no event.
        await asyncio.sleep(3.0)
        positions = set(observer.first_seen) - {-1}
        cursor = await db.execute("SELECT notification_id FROM intake.intake_events")
        stored = {int(row[0]) for row in await cursor.fetchall()}
        last = max(stored) if stored else 0
        missing = sorted(stored - positions)
        gaps = steady_gaps(observer, steady)
        latencies = relay_latencies(observer, filer, steady)
        takeover = [k["first_event_ms"] / 1000 for k in kills]
        lock = [k["new_holder_ms"] / 1000 for k in kills]
        return {
            "kills": kills,
            "takeover": summary_ms(takeover),
            "takeover_max_ms": round(max(takeover) * 1000, 1) if takeover else None,
            "lock_handover": summary_ms(lock),
            "baseline": {
                "filing_to_event_on_nats": summary_ms(latencies),
                "steady_max_gap_ms": round(max(gaps, default=0.0) * 1000, 1),
                "steady_gap_p99_ms": round(percentile(gaps, 0.99) * 1000, 1) if gaps else None,
            },
            "ratio_takeover_p99_to_steady_p99": (
                round(percentile(takeover, 0.99) / percentile(latencies, 0.99), 1)
                if latencies and takeover
                else None
            ),
            "filings": {
                "accepted": filer.accepted,
                "failed": filer.failed,
                "failures": filer.failures,
                # Seconds from the nearest earlier kill to each failed filing's last attempt.
                "failed_after_kill_s": sorted(
                    round(t - max((k for k in kill_times if k <= t), default=t), 2)
                    for t in filer.failed_at
                ),
            },
            "events": {
                "last_position": last,
                "stored": len(stored),
                # Stored events never seen on NATS (lost): must be 0.
                "missing": len(missing),
                # Notification ids never used (transactions that died with their replica).
                "unused_ids": last - len(stored),
                "messages_seen": len(observer.arrivals),
                "republished": len(observer.arrivals) - len(positions),
            },
        }
    finally:
        if filer is not None:
            filer.stop()
        if load is not None:
            with contextlib.suppress(Exception):
                await load
        await db.close()
        await nc.close()
        for stack in replicas:
            stack.stop()
        nats_server.stop()


def steady_gaps(observer: Observer, windows: list[tuple[float, float]]) -> list[float]:
    gaps = []
    for start, end in windows:
        times = [t for t, _, _ in observer.arrivals if start <= t < end]
        gaps += [b - a for a, b in itertools.pairwise(times)]
    return gaps


def relay_latencies(
    observer: Observer, filer: Filer, windows: list[tuple[float, float]]
) -> list[float]:
    """FileComplaint answered → the complaint's first event seen on NATS, in steady windows.
    Answers and events are paired in order (a filing stores its events before it answers);
    positions not from a filing (none today) would skew this, hence pairing by count within a
    window only."""
    firsts = sorted(t for t in observer.first_seen.values())
    out = []
    for start, end in windows:
        answers = [t for t in filer.answered if start <= t < end]
        events = [t for t in firsts if t >= start]
        for answered in answers:
            following = next((t for t in events if t >= answered), None)
            if following is not None:
                out.append(max(0.0, following - answered))
    return out


def fresh_database(base_url: str) -> tuple[str, str]:
    import psycopg

    name = f"aduan_b5_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, urlunparse(urlparse(base_url)._replace(path=f"/{name}"))


def drop_database(base_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--rate", type=float, default=10.0, help="filings per second")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--pause", type=float, default=2.0, help="after a restart, before a kill")
    parser.add_argument("--timeout", type=float, default=30.0, help="per takeover")
    parser.add_argument("--name", default="b5_takeover", help="result file name")
    args = parser.parse_args()
    base_url = os.environ.get("ADUAN_TEST_POSTGRES_URL", "")
    if not base_url:
        sys.exit("B5 needs PostgreSQL: set ADUAN_TEST_POSTGRES_URL")
    defaults = PostgresLeadership(base_url, ROLE)
    name, store_url = fresh_database(base_url)
    try:
        with tempfile.TemporaryDirectory(prefix="aduan-b5-") as scratch:
            result = asyncio.run(measure(args, store_url, Path(scratch)))
    finally:
        drop_database(base_url, name)
    write_result(
        args.name,
        {
            "store": "postgresql",
            "replicas": 2,
            "rate_per_second": args.rate,
            "leadership": {
                "retry_seconds": defaults.retry_seconds,
                "check_seconds": defaults.check_seconds,
                "lease_seconds": defaults.lease_seconds,
                "reconnect_seconds": defaults.reconnect_seconds,
            },
            **result,
        },
    )


if __name__ == "__main__":
    main()
