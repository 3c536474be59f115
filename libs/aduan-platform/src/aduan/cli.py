"""The `aduan` command-line tool: run the local stack, and (in later issues) audit and rebuild."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import uuid
from pathlib import Path
from types import FrameType

from aduan.natsserver import free_port, port_is_free
from aduan.settings import ALL_SERVICES, DEFAULT_GRPC_PORTS, DEFAULT_METRICS_PORTS
from aduan.stack import DEFAULT_NATS_PORT, LocalStack

EXAMPLE = """\
Example (any gRPC client works through server reflection, e.g. grpcurl):

  grpcurl -plaintext -d '{{"idempotency_key": "demo-1", "channel": "CHANNEL_WEB",
    "reporter": {{"name": "Budi", "phone": "081234567890"}},
    "location": {{"province_code": "32", "regency_code": "32.73"}},
    "subject": "Sertifikat belum terbit",
    "description": "Sertifikat tanah saya belum terbit setelah enam bulan."}}' \\
    {intake} aduan.v1.Intake/FileComplaint

  grpcurl -plaintext -d '{{"complaint_id": "<ticket number from above>"}}' {query} aduan.v1.Query/GetComplaint

or, without grpcurl:  uv run aduan demo
"""


def cmd_up(args: argparse.Namespace) -> int:
    nats_url = args.nats_url or os.environ.get("NATS_URL")
    ports = {name: args.base_port + offset for offset, name in enumerate(ALL_SERVICES)}
    busy = [f"{name} ({port})" for name, port in ports.items() if not port_is_free(port)]
    if busy:
        print(
            f"error: ports in use: {', '.join(busy)}; is another `make up` running?",
            file=sys.stderr,
        )
        return 1
    nats_port = args.nats_port
    if not nats_url and nats_port and not port_is_free(nats_port):
        nats_port = free_port()
        print(
            f"port {args.nats_port} is taken; the embedded NATS uses {nats_port} instead",
            flush=True,
        )
    metrics_ports = {
        name: port if port_is_free(port) else free_port()
        for name, port in DEFAULT_METRICS_PORTS.items()
    }
    stack = LocalStack(
        data_dir=Path(args.data_dir),
        nats_url=nats_url,
        nats_port=nats_port,
        ports=ports,
        metrics_ports=metrics_ports,
        log_format="text",
    )
    stopping = False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print(
        f"starting NATS ({nats_url or 'embedded, data in ' + str(Path(args.data_dir) / 'nats')}) and "
        f"{', '.join(ALL_SERVICES)} ...",
        flush=True,
    )
    try:
        stack.start_nats()
        for name in ALL_SERVICES:
            stack.start_service(name)
        started = time.monotonic()
        stack.wait_serving(args.timeout)
        print(f"\nAduan is up (SERVING after {time.monotonic() - started:.1f}s):", flush=True)
        print(f"  NATS           {stack.resolved_nats_url}")
        for name, service in stack.services.items():
            metrics = f"http://127.0.0.1:{metrics_ports[name]}/metrics"
            print(f"  {name:<14} {service.address}   metrics: {metrics}   logs: {service.log_path}")
        print()
        print(
            EXAMPLE.format(
                intake=stack.services["intake"].address, query=stack.services["query"].address
            )
        )
        print("Ctrl-C stops everything.", flush=True)
        while not stopping:
            dead = [name for name, service in stack.services.items() if not service.alive()]
            if dead:
                print(
                    f"service exited unexpectedly: {', '.join(dead)} (see var/logs); stopping",
                    file=sys.stderr,
                )
                return 1
            time.sleep(0.5)
        return 0
    except (TimeoutError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        print("stopping ...", flush=True)
        stack.stop()
        print("stopped.", flush=True)


def cmd_demo(args: argparse.Namespace) -> int:
    import grpc
    from google.protobuf import json_format

    from aduan.v1 import common_pb2, intake_pb2, intake_pb2_grpc, query_pb2, query_pb2_grpc

    with (
        grpc.insecure_channel(args.intake) as intake_channel,
        grpc.insecure_channel(args.query) as query_channel,
    ):
        filed = intake_pb2_grpc.IntakeStub(intake_channel).FileComplaint(
            intake_pb2.FileComplaintRequest(
                idempotency_key=f"demo-{uuid.uuid4().hex[:8]}",
                channel=common_pb2.CHANNEL_WEB,
                reporter=intake_pb2.Reporter(name="Budi Santoso", phone="081234567890"),
                location=common_pb2.Location(province_code="32", regency_code="32.73"),
                subject="Sertifikat belum terbit",
                description="Sertifikat tanah saya belum terbit setelah enam bulan menunggu.",
            ),
            timeout=10,
        )
        print("FileComplaint ->", json_format.MessageToJson(filed, indent=None))
        consistency = query_pb2.Consistency(min_positions=[filed.position])
        query = query_pb2_grpc.QueryStub(query_channel)
        complaint = query.GetComplaint(
            query_pb2.GetComplaintRequest(
                complaint_id=filed.ticket_number, consistency=consistency
            ),
            timeout=10,
        )
        print("GetComplaint  ->", json_format.MessageToJson(complaint, indent=2))
        trail = query.GetAuditTrail(
            query_pb2.GetAuditTrailRequest(
                complaint_id=filed.complaint_id, consistency=consistency
            ),
            timeout=10,
        )
        for entry in trail.entries:
            print(
                f"  {entry.occurred_at.ToJsonString()}  {entry.service:<12} {entry.event_type:<20} by {entry.actor.id}"
            )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aduan", description="Aduan command-line tool")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="run NATS and the four services locally until Ctrl-C")
    up.add_argument("--data-dir", default="var", help="stores, NATS data and logs (default: var)")
    up.add_argument(
        "--nats-url",
        default=None,
        help="use this NATS instead of an embedded one (default: $NATS_URL)",
    )
    up.add_argument(
        "--nats-port",
        type=int,
        default=DEFAULT_NATS_PORT,
        help="embedded NATS port (0: any free port)",
    )
    up.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for SERVING")
    up.add_argument(
        "--base-port",
        type=int,
        default=DEFAULT_GRPC_PORTS["intake"],
        help="gRPC port of intake; routing, notification and query take the next three",
    )
    up.set_defaults(func=cmd_up)
    demo = commands.add_parser(
        "demo", help="file a sample complaint and read it back from the query service"
    )
    demo.add_argument("--intake", default="127.0.0.1:50051")
    demo.add_argument("--query", default="127.0.0.1:50054")
    demo.set_defaults(func=cmd_demo)
    try:
        # The auditor and rebuild commands live with the query service, which owns read models;
        # the platform does not depend on it, so they appear where it is installed.
        from aduan_query.cli import register_commands
    except ImportError:
        return parser
    register_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in {"audit", "rebuild"}:
        from aduan_query.cli import run

        return run(args)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
