"""`aduan audit bundle`: read the write services' EventLogs (stored events included) over gRPC,
as an auditor, and write the offline audit bundle (`aduan_query.bundle`).

The EventLog has no index by time, so each log is read once from the start into a spool file; the
events of the time window and the checkpoints that seal them then decide which range is copied
into the bundle.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from aduan.contract.eventlog import EventLogReader
from aduan.eventstore.chain import LoggedEvent
from aduan_query.bundle import (
    FORMAT,
    FORMAT_VERSION,
    KEYS,
    BundleWriter,
    Excerpt,
    OnProgress,
    checkpoint_record,
    checkpoints_member,
    event_record,
    events_member,
    keys_document,
    plan_excerpt,
)
from aduan_query.tamper import logged_event


@dataclass(frozen=True)
class ExportedService:
    service: str
    head: int
    excerpt: Excerpt
    events: int
    checkpoints: int


@dataclass(frozen=True)
class _Spooled:
    head: int
    selected: list[int]
    checkpoints: list[LoggedEvent]
    algorithms: dict[int, str]
    absent: list[int]


def _in_window(moment: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    if moment is None:
        return False
    return (since is None or moment >= since) and (until is None or moment < until)


async def _spool(
    reader: EventLogReader,
    service: str,
    since: datetime | None,
    until: datetime | None,
    spool: IO[str],
    progress: OnProgress | None,
) -> _Spooled:
    head = await reader.head(service)
    selected: list[int] = []
    checkpoints: list[LoggedEvent] = []
    algorithms: dict[int, str] = {}
    absent: list[int] = []
    previous = 0
    read = 0
    async for envelope in reader.read(service, after=0, include_stored=True):
        event = logged_event(envelope)
        occurred = (
            envelope.occurred_at.ToDatetime(tzinfo=UTC)
            if envelope.HasField("occurred_at")
            else None
        )
        if _in_window(occurred, since, until):
            selected.append(event.position)
        if event.checkpoint is not None:
            checkpoints.append(event)
            algorithms[event.position] = envelope.checkpoint_sealed.algorithm
        # Positions the log does not hold (a PostgreSQL sequence skips a value after a failed
        # insert): recorded, so that the verifier can tell them from a removal.
        absent.extend(range(previous + 1, event.position))
        previous = event.position
        spool.write(json.dumps(event_record(event, occurred), ensure_ascii=False) + "\n")
        read += 1
        if progress is not None and read % 200 == 0:
            progress(service, read, max(head, read))
    if progress is not None:
        progress(service, read, max(head, read))
    return _Spooled(max(head, previous), selected, checkpoints, algorithms, absent)


def _excerpt_lines(spool: IO[str], excerpt: Excerpt) -> Iterator[dict[str, Any]]:
    spool.seek(0)
    for line in spool:
        record = json.loads(line)
        if excerpt.first <= record["position"] <= excerpt.last:
            yield record


async def export_bundle(
    reader: EventLogReader,
    services: Sequence[str],
    output: Path,
    since: datetime | None = None,
    until: datetime | None = None,
    progress: OnProgress | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[ExportedService]:
    """Write the bundle of the events stored in [since, until) to `output`."""
    writer = BundleWriter(output)
    exported: list[ExportedService] = []
    entries: list[dict[str, Any]] = []
    all_seals: list[LoggedEvent] = []
    try:
        for service in services:
            with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
                spooled = await _spool(reader, service, since, until, spool, progress)
                excerpt = plan_excerpt(spooled.selected, spooled.checkpoints)
                events = writer.add_lines(events_member(service), _excerpt_lines(spool, excerpt))
            checkpoints = writer.add_lines(
                checkpoints_member(service),
                (checkpoint_record(s, spooled.algorithms[s.position]) for s in excerpt.seals),
            )
            all_seals.extend(excerpt.seals)
            entries.append(
                {
                    "service": service,
                    "head": spooled.head,
                    "selected": None
                    if excerpt.selected is None
                    else {
                        "from": excerpt.selected[0],
                        "to": excerpt.selected[1],
                        "events": excerpt.selected_count,
                    },
                    "exported": None
                    if excerpt.empty
                    else {"from": excerpt.first, "to": excerpt.last},
                    "events": events,
                    "checkpoints": checkpoints,
                    "absent": [p for p in spooled.absent if excerpt.first <= p <= excerpt.last],
                }
            )
            exported.append(ExportedService(service, spooled.head, excerpt, events, checkpoints))
        writer.add_json(KEYS, keys_document(all_seals))
        writer.finish(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "created_at": now().isoformat(),
                "since": since.isoformat() if since else None,
                "until": until.isoformat() if until else None,
                "hash": "sha256",
                "services": entries,
            }
        )
    except BaseException:
        writer.abort()
        raise
    return exported
