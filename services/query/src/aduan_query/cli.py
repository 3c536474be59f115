"""The auditor's command line: `aduan-audit trail|export|replay|verify|bundle|keys|report|rebuild`.

The auditor's commands need a token and the services' addresses, never a database: trail,
export, replay and report ask the Query service over gRPC; verify and bundle read every write
service's EventLog over gRPC; `verify --bundle` reads only the bundle file (no network, no
database). The operator's `rebuild` and `verify --projections` also open the query database.
Configuration comes from the same ADUAN_* variables as the services (ADUAN_TOKEN,
ADUAN_QUERY_ADDR, ADUAN_<SERVICE>_ADDR, ADUAN_TLS_*, ADUAN_STORE_URL), and flags override them.
Progress goes to stderr (on a terminal only), so stdout carries the data alone.

The platform's `aduan` command can mount these commands with `register_commands(subparsers)`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from aduan.contract.eventlog import EventLogReader
from aduan.core.errors import AduanError
from aduan.core.settings import WRITE_SERVICES, ServiceSettings, SettingsError, TlsSettings
from aduan.eventstore.checkpoint import load_signer
from aduan.reference.offices import default_registry
from aduan.reference.timezones import WIB
from aduan.service.auth import bearer_interceptors
from aduan.service.peers import tool_event_log_reader
from aduan.service.tls import aio_channel
from aduan.v1 import common_pb2, query_pb2, query_pb2_grpc
from aduan_query.auditclient import QueryClient
from aduan_query.auditview import (
    REPLAY_COLUMNS,
    Places,
    export_header,
    export_line,
    replay_cells,
    replay_record,
    shown,
)
from aduan_query.bundle import (
    BundleFormatError,
    BundleReport,
    OnProgress,
    TrustedKeys,
    key_entry,
    read_keys_file,
    verify_bundle,
)
from aduan_query.bundleexport import export_bundle
from aduan_query.history import as_utc
from aduan_query.readmodels import make_engine, migrate
from aduan_query.rebuild import Rebuilder, verify
from aduan_query.report import month_period, report_row, write_csv, write_xlsx
from aduan_query.tamper import parse_public_key, verify_history


def eventlog_reader(addresses: dict[str, str], token: str = "") -> EventLogReader:
    """The EventLogs as the operator running the tool: with `token` (--token) or $ADUAN_TOKEN
    (an auditor's) and ADUAN_TLS_* when set; without, plainly (in-process or unsecured
    servers)."""
    env = {**os.environ, "ADUAN_TOKEN": token} if token else os.environ
    if env.get("ADUAN_TOKEN") or env.get("ADUAN_TLS_CA"):
        return tool_event_log_reader(addresses, env)
    return EventLogReader(addresses)


def moment(text: str) -> datetime:
    """ISO 8601 date or date-time; without an offset it is read as UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time, e.g. 2026-03-01 or 2026-03-01T09:00:00+07:00"
        ) from None
    return as_utc(value)


def _settings() -> ServiceSettings:
    return ServiceSettings.from_env("query")


def _store_url(args: argparse.Namespace) -> str:
    return str(args.store_url or _settings().store_url)


def _eventlogs(args: argparse.Namespace) -> dict[str, str]:
    addresses = {name: _settings().peers[name] for name in WRITE_SERVICES}
    for item in args.eventlog or []:
        service, _, address = item.partition("=")
        if service not in WRITE_SERVICES or not address:
            raise SystemExit(f"--eventlog takes SERVICE=HOST:PORT with SERVICE in {WRITE_SERVICES}")
        addresses[service] = address
    return addresses


class _PipeConsole(Console):
    """rich's Console, except that a closed pipe ends the command as every other write to
    stdout does (`run`), rather than with rich's own exit status 1."""

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError


def _console(out: TextIO | None = None) -> Console:
    stream = out or sys.stdout
    terminal = stream.isatty()
    return _PipeConsole(file=stream, width=None if terminal else 200, highlight=False)


def _held(seconds: float) -> str:
    return str(timedelta(seconds=int(seconds)))


# -- commands ---------------------------------------------------------------------------------


def _token(args: argparse.Namespace) -> str:
    token = str(getattr(args, "token", None) or os.environ.get("ADUAN_TOKEN", "")).strip()
    if not token:
        raise SettingsError("set ADUAN_TOKEN (or --token) to an auditor's token")
    return token


def _query_client(args: argparse.Namespace) -> QueryClient:
    """The Query service at --query or $ADUAN_QUERY_ADDR, as the holder of the token."""
    address = args.query or _settings().peers["query"]
    return QueryClient(address, _token(args), TlsSettings.from_env(os.environ))


def _places() -> Places:
    return Places(default_registry())


async def _trail(args: argparse.Namespace, console: Console) -> int:
    client = _query_client(args)
    try:
        complaint = await client.complaint(args.complaint)
        rows, custody = await client.trail(complaint["complaint_id"])
    finally:
        await client.close()
    places = _places()
    home = places.zone(
        complaint["holding_office"], fallback=places.province(complaint["province_code"])
    )
    name = complaint["ticket_number"] or complaint["complaint_id"]
    table = Table(title=f"Audit trail of {name} ({len(rows)} events)", show_lines=False)
    for column in ("#", "occurred at", "event", "actor", "from", "to", "reason", "summary"):
        table.add_column(column, overflow="fold", no_wrap=column == "occurred at")
    for number, row in enumerate(rows, 1):
        office = places.label(row["actor_office"])
        actor = row["actor_id"] + (f" @ {office}" if office else "")
        table.add_row(
            str(number),
            shown(row["occurred_at"], places.event_zone(row, home)),
            f"{row['event_type']} ({row['event_id']})",
            f"{actor} [{row['actor_kind'].lower()}]",
            places.label(row["from_office"]),
            places.label(row["to_office"]),
            row["reason_code"],
            row["summary"],
        )
    console.print(table)
    if custody:
        chain = Table(title="Custody")
        for column in ("office", "received from", "from", "until", "held", "handed to"):
            chain.add_column(column, overflow="fold", no_wrap=column in {"from", "until"})
        now = datetime.now(UTC)
        for segment in custody:
            zone = places.zone(segment["office_code"], fallback=home)
            seconds = (
                segment["held_seconds"]
                if segment["held_seconds"] is not None
                else (now - segment["from_at"]).total_seconds()
            )
            chain.add_row(
                places.label(segment["office_code"]),
                places.label(segment["received_from"]),
                shown(segment["from_at"], zone),
                shown(segment["until_at"], zone) or "(holding)",
                _held(seconds),
                places.label(segment["handed_to"]),
            )
        console.print(chain)
    return 0


def cmd_trail(args: argparse.Namespace) -> int:
    return asyncio.run(_trail(args, _console()))


async def write_export(
    rows: AsyncIterator[Mapping[str, Any]], format_: str, out: TextIO, places: Places
) -> int:
    """Write the rows as JSON Lines or CSV (`auditview.export_line`); how many."""
    written = 0
    out.write(export_header(format_))
    async for row in rows:
        out.write(export_line(row, format_, places))
        written += 1
    return written


async def _export(args: argparse.Namespace, out: TextIO) -> int:
    client = _query_client(args)
    try:
        with _stderr_progress() as bar:
            task = bar.add_task("exporting events", total=None)
            rows = client.audit_events(
                args.since, args.until, on_page=lambda done: bar.update(task, completed=done)
            )
            written = await write_export(rows, args.format, out, _places())
    finally:
        await client.close()
    if args.output:
        print(f"wrote {written} events to {args.output}", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            return asyncio.run(_export(args, out))
    return asyncio.run(_export(args, sys.stdout))


async def _replay(args: argparse.Namespace, console: Console) -> int:
    client = _query_client(args)
    places = _places()
    rows = []
    try:
        with _stderr_progress() as bar:
            task = bar.add_task("reading complaints", total=None)
            async for row in client.complaints_as_of(
                args.as_of,
                (args.office or "").strip().upper(),
                on_page=lambda done: bar.update(task, completed=done),
            ):
                if args.format == "jsonl":
                    sys.stdout.write(json.dumps(replay_record(row), ensure_ascii=False) + "\n")
                else:
                    rows.append(replay_cells(row, places))
    finally:
        await client.close()
    if args.format == "jsonl":
        return 0
    table = Table(
        title=f"What the system showed at {shown(args.as_of, WIB)} "
        f"({args.as_of.isoformat()}; {len(rows)} complaints)"
    )
    for column in REPLAY_COLUMNS:
        table.add_column(column, overflow="fold", no_wrap=column in REPLAY_UNBROKEN)
    for cells in rows:
        table.add_row(*cells)
    console.print(table)
    return 0


# Columns a narrow terminal must not break: ids and times are copied and read whole.
REPLAY_UNBROKEN = {"complaint_id", "ticket_number", "filed_at", "updated_at"}


def cmd_replay(args: argparse.Namespace) -> int:
    return asyncio.run(_replay(args, _console()))


async def _office_kpis(
    args: argparse.Namespace, start: datetime, end: datetime
) -> list[query_pb2.OfficeKpis]:
    """GetStats' office KPIs for the month, over gRPC as the operator ($ADUAN_TOKEN: an
    auditor's or a supervisor's token; TLS from ADUAN_TLS_*)."""
    token = _token(args)
    request = query_pb2.GetStatsRequest(
        period=common_pb2.TimeRange(start=_stamp(start), end=_stamp(end)),
        office_code=(args.office or "").strip().upper(),
        office_kpis=True,
        split_by_channel="channel" in (args.split or ()),
        split_by_category="category" in (args.split or ()),
    )
    if args.as_of is not None:
        request.as_of.CopyFrom(_stamp(args.as_of))
    address = args.query or _settings().peers["query"]
    channel = aio_channel(
        address, TlsSettings.from_env(os.environ), interceptors=bearer_interceptors(lambda: token)
    )
    try:
        response = await query_pb2_grpc.QueryStub(channel).GetStats(request, timeout=args.timeout)
    finally:
        await channel.close()
    return list(response.offices)


def _stamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def cmd_report(args: argparse.Namespace) -> int:
    if args.format == "xlsx" and not args.out:
        raise SystemExit("--format xlsx needs --out FILE")
    try:
        start, end = month_period(args.month)
    except ValueError as error:
        raise SystemExit(f"--month: {error}") from None
    try:
        offices = asyncio.run(_office_kpis(args, start, end))
    except grpc.aio.AioRpcError as error:
        print(f"error: GetStats: {error.code().name}: {error.details()}", file=sys.stderr)
        return 2
    rows = [report_row(office) for office in offices]
    if args.format == "xlsx":
        about = {
            "month": args.month,
            "from (UTC)": start.isoformat(),
            "until (UTC)": end.isoformat(),
            "as of (UTC)": args.as_of.isoformat() if args.as_of else "the time of the report",
            "office": (args.office or "").upper() or "every office the token sees",
            "split by": ", ".join(args.split or ()) or "-",
        }
        write_xlsx(rows, Path(args.out), about)
    elif args.out:
        with open(args.out, "w", encoding="utf-8", newline="") as out:
            write_csv(rows, out)
    else:
        write_csv(rows, sys.stdout)
    print(f"{len(rows)} office rows for {args.month}", file=sys.stderr)
    return 0


def _progress_bar() -> Progress:
    """A progress display with events per second, on stderr when it is a terminal."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>10.0f} events/s"),
        TimeElapsedColumn(),
        console=Console(file=sys.stderr),
        disable=not sys.stderr.isatty(),
    )


async def _verify(args: argparse.Namespace, console: Console) -> int:
    """The history (chains and checkpoints, over the EventLogs: the auditor's check), or with
    --projections the read models against a fresh rebuild (the operator's: it reads the query
    database). Non-zero when anything was found."""
    if args.projections:
        return await _verify_projections(args, console)
    return await _verify_history(args, console)


def _trusted_keys(args: argparse.Namespace) -> list[bytes]:
    texts = list(args.trust or [])
    configured = _settings().extra.get("CHECKPOINT_TRUSTED_KEYS", "")
    texts += [item for item in configured.split(",") if item.strip()]
    try:
        return [parse_public_key(text) for text in texts]
    except ValueError as error:
        raise SystemExit(f"--trust: {error}") from None


async def _verify_history(args: argparse.Namespace, console: Console) -> int:
    reader = eventlog_reader(_eventlogs(args), args.token or "")
    try:
        with _stderr_progress() as bar:
            reports = await verify_history(
                reader,
                WRITE_SERVICES,
                _trusted_keys(args),
                progress=_tracker(bar, "verifying the EventLog of"),
            )
    finally:
        await reader.close()
    failed = 0
    for report in reports:
        keys = ", ".join(sorted(report.key_ids)) or "none"
        console.print(
            f"history of {report.service}: {report.events} events up to position {report.head}, "
            f"{report.checkpoints} checkpoints (sealed up to {report.sealed_up_to}; keys {keys})"
        )
        for warning in report.warnings:
            console.print(f"  [yellow]warning:[/yellow] {warning}")
        for finding in report.findings[: args.limit]:
            console.print(f"  [red]{finding}[/red]", soft_wrap=True)
        if len(report.findings) > args.limit:
            console.print(f"  ... and {len(report.findings) - args.limit} more")
        failed += len(report.findings)
    if failed:
        console.print(f"[red]TAMPERED: {failed} findings in the history[/red]")
        return 1
    console.print("[green]OK: every chain and checkpoint verifies[/green]")
    return 0


async def _verify_projections(args: argparse.Namespace, console: Console) -> int:
    engine = make_engine(_store_url(args))
    reader = eventlog_reader(_eventlogs(args), args.token or "")
    try:
        with _progress_bar() as bar:
            task = bar.add_task("rebuilding for comparison", total=None, rate=0.0)
            started = datetime.now(UTC)

            def progress(done: int, expected: int) -> None:
                elapsed = (datetime.now(UTC) - started).total_seconds() or 1e-9
                bar.update(task, completed=done, total=expected, rate=done / elapsed)

            report = await verify(engine, reader, WRITE_SERVICES, progress=progress)
    finally:
        await reader.close()
        engine.dispose()
    positions = ", ".join(f"{s} {p}" for s, p in sorted(report.positions.items()))
    compared = ", ".join(f"{t} {n}" for t, n in report.rows_compared.items())
    console.print(f"compared at positions: {positions or 'none'}; rows: {compared}")
    if report.ok:
        console.print("[green]OK: the live read models equal a fresh rebuild[/green]")
        return 0
    console.print(f"[red]{len(report.differences)} differences:[/red]")
    for difference in report.differences[: args.limit]:
        console.print(f"  {difference}")
    if len(report.differences) > args.limit:
        console.print(f"  ... and {len(report.differences) - args.limit} more")
    return 1


def cmd_verify(args: argparse.Namespace) -> int:
    if args.bundle:
        if args.projections:
            raise SystemExit("--bundle checks the bundle's history; --projections the live models")
        return _verify_bundle(args, _console())
    return asyncio.run(_verify(args, _console()))


# -- the offline audit bundle -------------------------------------------------------------------


def _stderr_progress() -> Progress:
    """A progress display on stderr when it is a terminal, silent otherwise (pipes, CI logs)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(file=sys.stderr),
        disable=not sys.stderr.isatty(),
        transient=True,
    )


def _tracker(bar: Progress, verb: str) -> OnProgress:
    tasks: dict[str, Any] = {}

    def update(service: str, done: int, expected: int) -> None:
        if service not in tasks:
            tasks[service] = bar.add_task(f"{verb} {service}", total=expected or None)
        bar.update(tasks[service], completed=done, total=expected or None)

    return update


async def _bundle(args: argparse.Namespace, console: Console) -> int:
    if args.since and args.until and args.since >= args.until:
        raise SystemExit("--since must be before --until")
    output = Path(args.output)
    reader = eventlog_reader(_eventlogs(args), args.token or "")
    try:
        with _stderr_progress() as bar:
            exported = await export_bundle(
                reader,
                WRITE_SERVICES,
                output,
                args.since,
                args.until,
                progress=_tracker(bar, "reading the EventLog of"),
            )
    finally:
        await reader.close()
    for item in exported:
        if item.excerpt.selected is None:
            console.print(f"{item.service}: no events in the window (head {item.head})")
            continue
        low, high = item.excerpt.selected
        console.print(
            f"{item.service}: {item.excerpt.selected_count} events in the window (positions "
            f"{low}..{high}); exported positions {item.excerpt.first}..{item.excerpt.last} "
            f"({item.events} events) and {item.checkpoints} checkpoints"
        )
    console.print(f"wrote {escape(str(output))}")
    return 0


def cmd_bundle(args: argparse.Namespace) -> int:
    return asyncio.run(_bundle(args, _console()))


def _bundle_trust(args: argparse.Namespace) -> TrustedKeys:
    trusted = TrustedKeys(for_all=_trusted_keys(args))
    if args.keys:
        try:
            from_file = read_keys_file(
                Path(args.keys).read_text(encoding="utf-8"), parse_public_key
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise SystemExit(f"--keys {args.keys}: {error}") from None
        trusted.for_all += from_file.for_all
        for service, keys in from_file.by_service.items():
            trusted.by_service.setdefault(service, []).extend(keys)
    return trusted


def _verify_bundle(args: argparse.Namespace, console: Console) -> int:
    path = Path(args.bundle)
    trusted = _bundle_trust(args)
    try:
        with _stderr_progress() as bar:
            report = verify_bundle(path, trusted, progress=_tracker(bar, "verifying"))
    except BundleFormatError as error:
        console.print(f"[red]{escape(str(error))}[/red]")
        return 2
    _print_bundle_report(report, args.limit, console)
    return 0 if report.ok else 1


def _print_bundle_report(report: BundleReport, limit: int, console: Console) -> None:
    manifest = report.manifest
    window = f"from {manifest.get('since') or 'the start'} until {manifest.get('until') or 'now'}"
    console.print(
        f"bundle {escape(str(report.path))}: events {window}, exported {manifest.get('created_at')}"
    )
    for finding in report.findings[:limit]:
        console.print(f"  [red]{escape(str(finding))}[/red]", soft_wrap=True)
    for warning in report.warnings:
        console.print(f"  [yellow]warning:[/yellow] {escape(warning)}")
    for check in report.services:
        log = check.log
        if check.exported is None:
            console.print(f"{check.service}: no events in the window")
        else:
            selected = f"{check.selected[0]}..{check.selected[1]}" if check.selected else "none"
            proven = log.proven
            proof = (
                f"{log.checkpoints} checkpoints prove positions {proven[0]}..{proven[1]} "
                f"(keys {', '.join(sorted(log.key_ids))})"
                if proven
                else "no checkpoint proves any of it (chains verified only)"
            )
            console.print(
                f"{check.service}: {log.events} events at positions {check.exported[0]}.."
                f"{check.exported[1]} (the window's: {selected}); {proof}"
            )
        for warning in [*log.warnings, *check.warnings]:
            console.print(f"  [yellow]warning:[/yellow] {escape(warning)}")
        findings = check.all_findings
        for finding in findings[:limit]:
            console.print(f"  [red]{escape(str(finding))}[/red]", soft_wrap=True)
        if len(findings) > limit:
            console.print(f"  ... and {len(findings) - limit} more")
    if report.ok:
        console.print("[green]OK: every event and checkpoint in the bundle verifies[/green]")
    else:
        console.print(f"[red]TAMPERED: {report.finding_count} findings in the bundle[/red]")


def cmd_keys(args: argparse.Namespace) -> int:
    """The checkpoint public keys to publish to auditors, from the signing keys' files."""
    entries = []
    for item in args.key_file:
        service, _, path = item.partition("=")
        if service not in WRITE_SERVICES or not path:
            raise SystemExit(f"--key-file takes SERVICE=FILE with SERVICE in {WRITE_SERVICES}")
        try:
            signer = load_signer(service, {"CHECKPOINT_KEY_FILE": path})
        except (OSError, ValueError) as error:
            raise SystemExit(f"--key-file {item}: {error}") from None
        entries.append(key_entry(service, signer.public_key))
    sys.stdout.write(json.dumps({"keys": entries}, indent=2) + "\n")
    return 0


async def _rebuild(args: argparse.Namespace, console: Console) -> int:
    engine = make_engine(_store_url(args))
    reader = eventlog_reader(_eventlogs(args), args.token or "")
    try:
        await asyncio.to_thread(migrate, engine)
        rebuilder = Rebuilder(engine, reader, WRITE_SERVICES)
        with _progress_bar() as bar:
            task = bar.add_task("rebuilding read models", total=None, rate=0.0)
            started = datetime.now(UTC)

            def progress(done: int, expected: int) -> None:
                elapsed = (datetime.now(UTC) - started).total_seconds() or 1e-9
                bar.update(task, completed=done, total=expected, rate=done / elapsed)

            result = await rebuilder.rebuild(progress)
    finally:
        await reader.close()
        engine.dispose()
    positions = ", ".join(f"{s} {p}" for s, p in sorted(result.positions.items()))
    console.print(
        f"rebuilt and swapped in: {result.events} events in {result.seconds:.1f}s "
        f"({result.events_per_second:.0f} events/s); positions {positions or 'none'}"
    )
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    return asyncio.run(_rebuild(args, _console()))


# -- parser ----------------------------------------------------------------------------------------


def _token_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--token",
        default=None,
        help="the caller's bearer token, an auditor's (default: $ADUAN_TOKEN; a flag is visible "
        "to other users of the machine, the variable is not)",
    )


def _query_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--query", default=None, help="query service HOST:PORT (default: $ADUAN_QUERY_ADDR)"
    )
    _token_arg(parser)


def _eventlog_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--eventlog",
        action="append",
        metavar="SERVICE=HOST:PORT",
        help="EventLog address of a write service (default: $ADUAN_<SERVICE>_ADDR)",
    )
    _token_arg(parser)


def _store_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store-url", default=None, help="query read models (default: $ADUAN_STORE_URL)"
    )


def add_audit_commands(commands: Any) -> None:
    """Add trail, export, replay and verify to an argparse subparsers object."""
    trail = commands.add_parser("trail", help="the audit trail and custody of one complaint")
    trail.add_argument("complaint", help="ticket number or complaint id")
    _query_args(trail)
    trail.set_defaults(func=cmd_trail)

    export = commands.add_parser("export", help="every event with actor and offices")
    export.add_argument("--since", type=moment, default=None, help="from this time (inclusive)")
    export.add_argument("--until", type=moment, default=None, help="to this time (exclusive)")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--output", default=None, help="file to write (default: stdout)")
    _query_args(export)
    export.set_defaults(func=cmd_export)

    replay = commands.add_parser("replay", help="every complaint as the system showed it then")
    replay.add_argument("--as-of", type=moment, required=True, help="ISO 8601 time")
    replay.add_argument("--office", default=None, help="only this office and its descendants")
    replay.add_argument("--format", choices=("table", "jsonl"), default="table")
    _query_args(replay)
    replay.set_defaults(func=cmd_replay)

    check = commands.add_parser(
        "verify",
        help="recompute every hash chain and signed checkpoint from the EventLogs (or, with "
        "--projections, compare the live read models with a fresh rebuild)",
    )
    check.add_argument("--limit", type=int, default=50, help="findings or differences to print")
    only = check.add_mutually_exclusive_group()
    only.add_argument(
        "--history",
        action="store_true",
        help="the chains and checkpoints (tamper evidence; the default)",
    )
    only.add_argument(
        "--projections",
        action="store_true",
        help="instead, the read models against a rebuild (an operator's check: it reads the "
        "query database at --store-url)",
    )
    check.add_argument(
        "--trust",
        action="append",
        metavar="PUBLIC_KEY",
        help="accept only checkpoints signed by this Ed25519 public key (base64 or hex; "
        "repeatable; default: $ADUAN_CHECKPOINT_TRUSTED_KEYS, comma-separated)",
    )
    check.add_argument(
        "--bundle",
        metavar="FILE",
        default=None,
        help="verify an audit bundle offline (no network, no database) instead of the EventLogs",
    )
    check.add_argument(
        "--keys",
        metavar="FILE",
        default=None,
        help="with --bundle: the checkpoint public keys obtained independently of the bundle "
        "(the JSON `aduan audit keys` writes, or one '[SERVICE] KEY' per line)",
    )
    _eventlog_args(check)
    _store_arg(check)
    check.set_defaults(func=cmd_verify)

    report = commands.add_parser(
        "report", help="the monthly office KPIs (GetStats over gRPC) as CSV or XLSX"
    )
    report.add_argument("--month", required=True, help="YYYY-MM, in WIB")
    report.add_argument("--office", default=None, help="this office and those below it")
    report.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    report.add_argument("--out", default=None, help="file to write (csv default: stdout)")
    report.add_argument(
        "--split",
        action="append",
        choices=("channel", "category"),
        help="one row per office and channel / category (repeatable)",
    )
    report.add_argument("--as-of", type=moment, default=None, help="figures as of this time")
    report.add_argument(
        "--query", default=None, help="query service HOST:PORT (default: $ADUAN_QUERY_ADDR)"
    )
    report.add_argument("--timeout", type=float, default=120.0, help="seconds for GetStats")
    _token_arg(report)
    report.set_defaults(func=cmd_report)

    bundle = commands.add_parser(
        "bundle",
        help="write the events of a period exactly as stored, the checkpoints sealing them and "
        "their keys into one file that `verify --bundle` checks offline",
    )
    bundle.add_argument("--since", type=moment, default=None, help="from this time (inclusive)")
    bundle.add_argument("--until", type=moment, default=None, help="to this time (exclusive)")
    bundle.add_argument("--output", "-o", required=True, help="the bundle file to write (zip)")
    _eventlog_args(bundle)
    bundle.set_defaults(func=cmd_bundle)

    keys = commands.add_parser(
        "keys", help="print the checkpoint public keys to publish to auditors (JSON)"
    )
    keys.add_argument(
        "--key-file",
        action="append",
        required=True,
        metavar="SERVICE=FILE",
        help="a write service's checkpoint signing key (ADUAN_CHECKPOINT_KEY_FILE); repeatable",
    )
    keys.set_defaults(func=cmd_keys)


def add_rebuild_command(commands: Any) -> None:
    rebuild = commands.add_parser(
        "rebuild", help="rebuild the read models from the EventLogs and swap them in"
    )
    _eventlog_args(rebuild)
    _store_arg(rebuild)
    rebuild.set_defaults(func=cmd_rebuild)


def register_commands(commands: Any) -> None:
    """Mount `audit <trail|export|replay|verify>` and `rebuild` on another CLI's subparsers."""
    audit = commands.add_parser(
        "audit", help="auditor tools: trail, export, replay, verify, bundle, keys"
    )
    add_audit_commands(audit.add_subparsers(dest="audit_command", required=True))
    add_rebuild_command(commands)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aduan-audit",
        description="Audit Aduan's history: trails, exports, replays and verification.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add_audit_commands(commands)
    add_rebuild_command(commands)
    return parser


SIGPIPE_STATUS = 128 + 13  # what a shell reports for a program ended by SIGPIPE


def run(args: argparse.Namespace) -> int:
    """Run a parsed command; domain errors become a message and exit status 2. When the reader
    of the output goes away (`aduan audit export | head`), stop quietly as Unix tools do."""
    try:
        return int(args.func(args))
    except (AduanError, SettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except grpc.aio.AioRpcError as error:
        # What the service refused and why, e.g. PERMISSION_DENIED for a token without the
        # auditor's role.
        print(f"error: {error.code().name}: {error.details()}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # Python would try to flush stdout again at exit and print a second error: point it at
        # /dev/null first.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return SIGPIPE_STATUS


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
