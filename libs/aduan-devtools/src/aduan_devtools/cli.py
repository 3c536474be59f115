"""The `aduan` command-line tool: run the local stack, issue development tokens, audit and rebuild."""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from types import FrameType

from aduan.core.settings import ALL_SERVICES, DEFAULT_GRPC_PORTS, DEFAULT_METRICS_PORTS
from aduan.service.auth import ROLES, DevTokens
from aduan_desk.settings import DEFAULT_DESK_PORT
from aduan_devtools.natsserver import (
    NatsServerMissingError,
    free_port,
    nats_server_binary,
    port_is_free,
)
from aduan_devtools.stack import (
    DEFAULT_NATS_PORT,
    DEFAULT_WEBHOOK_PORT,
    DESK,
    SECRET_FILE,
    LocalStack,
)

# The tokens `aduan up` prints: (variable, role, office).
READY_TOKENS = (
    ("ADUAN_TOKEN_GATEWAY", "gateway", ""),
    ("ADUAN_TOKEN_OFFICER", "officer", "KANTAH.32.73"),
    ("ADUAN_TOKEN_SUPERVISOR", "supervisor", "KANWIL.32"),
    ("ADUAN_TOKEN_AUDITOR", "auditor", ""),
    ("ADUAN_TOKEN_ADMIN", "admin", ""),
)

# The banner names make targets rather than `uv run aduan ...`: `make up` may have installed uv
# where the shell does not look (the Makefile says where).
TOKENS_HEADING = (
    "Tokens for this run (8 hours; `make token ROLE=<role> OFFICE=<office>` issues more):"
)

EXAMPLE = """\
Example (any gRPC client works through server reflection, e.g. grpcurl):

  grpcurl -plaintext -H "authorization: Bearer $ADUAN_TOKEN_GATEWAY" \\
    -d '{{"idempotency_key": "demo-1", "channel": "CHANNEL_WEB",
    "reporter": {{"name": "Budi", "phone": "081234567890"}},
    "location": {{"province_code": "32", "regency_code": "32.73"}},
    "subject": "Sertifikat belum terbit",
    "description": "Sertifikat tanah saya belum terbit setelah enam bulan."}}' \\
    {intake} aduan.v1.Intake/FileComplaint

  grpcurl -plaintext -H "authorization: Bearer $ADUAN_TOKEN_OFFICER" \\
    -d '{{"complaint_id": "<ticket number from above>"}}' {query} aduan.v1.Query/GetComplaint

or, without grpcurl:  make demo
"""


def cmd_up(args: argparse.Namespace) -> int:
    nats_url = args.nats_url or os.environ.get("NATS_URL")
    if not nats_url:
        try:
            nats_server_binary()
        except NatsServerMissingError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
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
    # The WhatsApp webhook's usual port, or a free one when another program holds it.
    webhook_port = DEFAULT_WEBHOOK_PORT if port_is_free(DEFAULT_WEBHOOK_PORT) else free_port()
    # The desk likewise; its metrics on the port after the services'.
    desk_port = DEFAULT_DESK_PORT if port_is_free(DEFAULT_DESK_PORT) else free_port()
    desk_metrics = max(DEFAULT_METRICS_PORTS.values()) + 1
    metrics_ports[DESK] = desk_metrics if port_is_free(desk_metrics) else free_port()
    stack = LocalStack(
        data_dir=Path(args.data_dir),
        nats_url=nats_url,
        nats_port=nats_port,
        ports=ports,
        metrics_ports=metrics_ports,
        webhook_port=webhook_port,
        desk_port=desk_port,
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
        f"{', '.join(ALL_SERVICES)}, then the desk ...",
        flush=True,
    )
    try:
        stack.start_nats()
        for name in ALL_SERVICES:
            stack.start_service(name)
        started = time.monotonic()
        stack.wait_serving(args.timeout)
        stack.start_desk(args.timeout)
        print(f"\nAduan is up (SERVING after {time.monotonic() - started:.1f}s):", flush=True)
        print(f"  NATS           {stack.resolved_nats_url}")
        for name, service in stack.services.items():
            metrics = f"http://127.0.0.1:{metrics_ports[name]}/metrics"
            # The desk is a web page, so its address is a URL to open in a browser.
            address = f"{stack.desk_url}/" if name == DESK else service.address
            print(f"  {name:<14} {address}   metrics: {metrics}   logs: {service.log_path}")
        print(
            f"  WhatsApp       http://127.0.0.1:{stack.webhook_port}/webhook/whatsapp "
            "(Cloud API webhook; signed with the development app secret, docs/intake.md)"
        )
        print()
        print(TOKENS_HEADING)
        for variable, role, office in READY_TOKENS:
            print(f"  export {variable}={stack.token(role, office)}")
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


def parse_ttl(text: str) -> timedelta:
    """ "8h", "30m", "90s", "2d" (a bare number is seconds)."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", text)
    if match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 8h, 30m, 2d)")
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return timedelta(seconds=int(match.group(1)) * unit)


def dev_secret(data_dir: str) -> str:
    """ADUAN_JWT_SECRET, or the secret of the local stack running on `data_dir`."""
    secret = os.environ.get("ADUAN_JWT_SECRET", "").strip()
    if secret:
        return secret
    path = Path(data_dir) / SECRET_FILE
    try:
        return path.read_text().strip()
    except OSError:
        raise SystemExit(
            f"no token secret: set ADUAN_JWT_SECRET or start the local stack (`make up`), which "
            f"writes {path}"
        ) from None


def cmd_token(args: argparse.Namespace) -> int:
    tokens = DevTokens(
        dev_secret(args.data_dir),
        issuer=os.environ.get("ADUAN_JWT_ISSUER", ""),
        audience=os.environ.get("ADUAN_JWT_AUDIENCE", ""),
    )
    print(tokens.issue(args.role, args.office or "", args.sub or "", args.ttl))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    import grpc
    from google.protobuf import json_format

    from aduan.service.auth import with_bearer
    from aduan.v1 import common_pb2, intake_pb2, intake_pb2_grpc, query_pb2, query_pb2_grpc

    tokens = DevTokens(dev_secret(args.data_dir))
    with (
        grpc.insecure_channel(args.intake) as intake_plain,
        grpc.insecure_channel(args.query) as query_plain,
    ):
        intake_channel = with_bearer(intake_plain, tokens.issue("gateway", sub="gateway:demo"))
        query_channel = with_bearer(query_plain, tokens.issue("auditor", sub="auditor:demo"))
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


def cmd_keys(args: argparse.Namespace) -> int:
    from aduan_devtools.keygen import write_service_keys

    try:
        written = write_service_keys(Path(args.out))
    except FileExistsError as error:
        raise SystemExit(f"aduan keys: {error}") from None
    for path in written:
        print(path)
    print(
        "Each <service>.pem is that service's private identity key (key id aduan-<service>);"
        " jwks.json holds their public keys, which every service must trust."
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aduan", description="Aduan command-line tool")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser(
        "up", help="run NATS, the four services and the desk locally until Ctrl-C"
    )
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
    demo.add_argument(
        "--data-dir", default="var", help="the local stack's data dir (its token secret)"
    )
    demo.set_defaults(func=cmd_demo)
    token = commands.add_parser(
        "token",
        help="issue a development token (HS256 with $ADUAN_JWT_SECRET or the local stack's)",
    )
    token.add_argument("--sub", default="", help="subject, e.g. officer:siti (default: dev:ROLE)")
    token.add_argument(
        "--role", action="append", required=True, choices=ROLES, help="repeat for several roles"
    )
    token.add_argument("--office", default="", help="office code, e.g. KANTAH.32.73")
    token.add_argument("--ttl", type=parse_ttl, default=timedelta(hours=8), help="e.g. 8h, 30m")
    token.add_argument("--data-dir", default="var", help="the local stack's data dir")
    token.set_defaults(func=cmd_token)
    keys = commands.add_parser(
        "keys",
        help="generate each service's identity key (ES256 PEM) and the JWKS of their public keys",
    )
    keys.add_argument("--out", required=True, help="directory for <service>.pem and jwks.json")
    keys.set_defaults(func=cmd_keys)
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
