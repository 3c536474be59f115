"""Hash-chain and checkpoint verification of the write services' EventLogs, as their readers see
them over gRPC (stored events included): the one rule that `aduan audit verify` and the desk's
auditor page (docs/desk.md, "/audit") apply. The recomputation itself is
`aduan.eventstore.chain.verify_log`; this module turns the EventLog's envelopes into the events it
checks and reads each log whole.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from aduan.contract.eventlog import EventLogReader
from aduan.eventstore.chain import CheckpointClaim, Finding, LoggedEvent, LogReport, verify_log
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


@dataclass(frozen=True)
class HistoryVerdict:
    """What the verification of every EventLog says about one complaint's history: its events
    (service, position) as the audit trail lists them."""

    reports: tuple[LogReport, ...]
    events: tuple[tuple[str, int], ...]

    @property
    def findings(self) -> list[Finding]:
        return [finding for report in self.reports for finding in report.findings]

    @property
    def intact(self) -> bool:
        """No finding anywhere in the logs its events belong to (a broken chain or checkpoint
        elsewhere puts every later seal in doubt, so it is never hidden)."""
        return not self.findings

    @property
    def touching(self) -> list[Finding]:
        """The findings that name one of the complaint's events."""
        own = set(self.events)
        return [
            f for f in self.findings if f.position is not None and (f.service, f.position) in own
        ]

    @property
    def sealed(self) -> int:
        """How many of the complaint's events a signed checkpoint seals (the others are checked
        by their chains only, until the next checkpoint)."""
        proven = {r.service: r.proven for r in self.reports}
        count = 0
        for service, position in self.events:
            span = proven.get(service)
            count += span is not None and span[0] <= position <= span[1]
        return count


async def verify_complaint_history(
    reader: EventLogReader,
    events: Iterable[tuple[str, int]],
    trusted_keys: Sequence[bytes] = (),
) -> HistoryVerdict:
    """Verifies the EventLogs that hold the complaint's `events` (service, position), whole."""
    own = tuple(sorted(set(events)))
    services = sorted({service for service, _ in own})
    reports = await verify_history(reader, services, trusted_keys)
    return HistoryVerdict(tuple(reports), own)
