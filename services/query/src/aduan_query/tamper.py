"""`aduan audit verify`, history part: recompute every hash chain and checkpoint from the write
services' EventLogs (stored events included) and name what was altered, removed or reordered.

The EventLogs are read over gRPC only: no database access is needed, so an auditor can run it
from anywhere the EventLogs are reachable. The recomputation itself lives in `aduan.eventstore.chain`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence

from aduan.contract.eventlog import EventLogReader
from aduan.eventstore.chain import CheckpointClaim, LoggedEvent, LogReport, verify_log
from aduan.eventstore.checkpoint import development_public_key
from aduan.v1 import events_pb2


def logged_event(envelope: events_pb2.Envelope) -> LoggedEvent:
    claim = None
    if envelope.WhichOneof("payload") == "checkpoint_sealed":
        sealed = envelope.checkpoint_sealed
        claim = CheckpointClaim(
            service=sealed.service,
            from_position=sealed.from_position,
            to_position=sealed.to_position,
            event_count=sealed.event_count,
            root=sealed.root,
            signature=sealed.signature,
            key_id=sealed.key_id,
            public_key=sealed.public_key,
            manifest=sealed.manifest,
        )
    return LoggedEvent(
        service=envelope.service,
        position=envelope.position,
        event_id=envelope.event_id,
        aggregate_id=envelope.aggregate_id,
        aggregate_version=envelope.aggregate_version,
        topic=envelope.stored_topic,
        state=envelope.stored_state,
        event_type=envelope.event_type,
        checkpoint=claim,
    )


def parse_public_key(text: str) -> bytes:
    """A trusted checkpoint key: base64 or hex of the raw 32-byte Ed25519 public key."""
    text = text.strip()
    try:
        raw = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ValueError(f"{text!r} is not a 32-byte Ed25519 public key (base64 or hex)")
    return raw


# Called with (service, events read, events expected) while a log is read.
OnProgress = Callable[[str, int, int], None]
# Events between two progress reports.
PROGRESS_EVERY = 200


async def verify_history(
    reader: EventLogReader,
    services: Sequence[str],
    trusted_keys: Sequence[bytes] = (),
    progress: OnProgress | None = None,
) -> list[LogReport]:
    """One report per service, from its whole EventLog."""
    reports = []
    for service in services:
        head = await reader.head(service) if progress is not None else 0
        events = []
        async for envelope in reader.read(service, after=0, include_stored=True):
            events.append(logged_event(envelope))
            if progress is not None and len(events) % PROGRESS_EVERY == 0:
                progress(service, len(events), max(head, len(events)))
        if progress is not None:
            progress(service, len(events), max(head, len(events)))
        reports.append(
            verify_log(
                service,
                events,
                trusted_keys=trusted_keys,
                development_keys=[development_public_key(service)],
            )
        )
    return reports
