"""Synthesised history for tests and experiments: envelopes as the write services publish them,
a seeded random scenario of many complaints, and in-process EventLog servers serving them.

Built against the published contract (`protos/aduan/v1/events.proto`) only. Loopback only.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from aduan.core.settings import WRITE_SERVICES
from aduan.reference.areas import area_registry
from aduan.v1 import common_pb2, eventlog_pb2, eventlog_pb2_grpc, events_pb2
from aduan_devtools.natsserver import free_port

PAYLOAD_FIELDS: dict[str, str] = {
    f.message_type.name: f.name
    for f in events_pb2.Envelope.DESCRIPTOR.oneofs_by_name["payload"].fields
    if f.message_type is not None
}
SERVICE_OF: dict[str, str] = {
    **dict.fromkeys(
        (
            "ComplaintFiled",
            "ReporterMessageAdded",
            "ComplaintWithdrawn",
            "ResolutionRated",
            "StatusRequested",
            "ContactRevealed",
            "TextRevealed",
            "ReporterErased",
            "ComplaintLocated",
            "ComplaintClassified",
            "DetailsRequested",
            "ConversationReplyRequested",
        ),
        "intake",
    ),
    **{name: "notification" for name in PAYLOAD_FIELDS if name.startswith("Delivery")},
}

EPOCH = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def ts(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def office(code: str) -> common_pb2.OfficeRef:
    return common_pb2.OfficeRef(code=code)


@dataclass
class Pending:
    """An event not yet given its position: (when, service, complaint, payload, actor)."""

    at: datetime
    service: str
    complaint_id: str
    payload: Message
    actor: common_pb2.Actor
    order: int


@dataclass
class History:
    """Events of several services; positions are dense per service and follow occurred_at."""

    pending: list[Pending] = field(default_factory=list)
    logs: dict[str, list[events_pb2.Envelope]] = field(
        default_factory=lambda: {s: [] for s in WRITE_SERVICES}
    )
    _versions: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(
        self,
        at: datetime,
        complaint_id: str,
        payload: Message,
        actor: common_pb2.Actor | None = None,
    ) -> None:
        service = SERVICE_OF.get(payload.DESCRIPTOR.name, "routing")
        actor = actor or common_pb2.Actor(
            id=service, kind=common_pb2.ACTOR_KIND_SERVICE, role="service"
        )
        self.pending.append(Pending(at, service, complaint_id, payload, actor, len(self.pending)))

    def seal(self) -> dict[str, list[events_pb2.Envelope]]:
        """Give every pending event its envelope and position (in occurred_at order per service)."""
        for item in sorted(self.pending, key=lambda p: (p.at, p.order)):
            log = self.logs[item.service]
            position = len(log) + 1
            version_key = (item.service, item.complaint_id)
            version = self._versions.get(version_key, 0) + 1
            self._versions[version_key] = version
            name = item.payload.DESCRIPTOR.name
            envelope = events_pb2.Envelope(
                event_id=f"{item.service}:{position}",
                event_type=name,
                complaint_id=item.complaint_id,
                service=item.service,
                position=position,
                previous_position=position - 1,
                occurred_at=ts(item.at),
                actor=item.actor,
                correlation_id=f"corr-{item.complaint_id[:8]}",
                causation_id=f"{item.service}:{position - 1}" if position > 1 else "",
                aggregate_id=item.complaint_id,
                aggregate_version=version,
            )
            getattr(envelope, PAYLOAD_FIELDS[name]).CopyFrom(item.payload)
            log.append(envelope)
        self.pending.clear()
        return self.logs

    def in_history_order(self) -> list[events_pb2.Envelope]:
        everything = [e for log in self.logs.values() for e in log]
        return sorted(everything, key=lambda e: (e.occurred_at.ToDatetime(), e.service, e.position))

    def interleaved(self, rng: random.Random) -> Iterator[events_pb2.Envelope]:
        """Each service's log in order, the services interleaved at random (independent
        upstreams: routing is often projected before the intake event it reacted to)."""
        cursors = {s: 0 for s in WRITE_SERVICES}
        while True:
            ready = [s for s in WRITE_SERVICES if cursors[s] < len(self.logs[s])]
            if not ready:
                return
            service = rng.choice(ready)
            # Runs of several events from one service, as a consumer would see them.
            for _ in range(rng.randint(1, 40)):
                if cursors[service] >= len(self.logs[service]):
                    break
                yield self.logs[service][cursors[service]]
                cursors[service] += 1


OFFICER = common_pb2.ACTOR_KIND_OFFICER


def officer(office_code: str, number: int) -> common_pb2.Actor:
    return common_pb2.Actor(
        id=f"officer-{number}", kind=OFFICER, role="officer", office_code=office_code
    )


def file_complaint(
    history: History,
    at: datetime,
    regency_code: str,
    *,
    complaint_id: str | None = None,
    ticket: str | None = None,
    category: common_pb2.Category = common_pb2.CATEGORY_LAND_SERVICE,
    subject: str = "Sertifikat belum terbit",
    anonymous: bool = False,
) -> tuple[str, str]:
    complaint_id = complaint_id or str(uuid.uuid4())
    ticket = ticket or f"ADU-{complaint_id[:8].upper()}"
    province = regency_code.split(".")[0]
    location = common_pb2.Location(
        province_code=province, regency_code=regency_code, address="Jl. Merdeka 1"
    )
    history.add(
        at,
        complaint_id,
        events_pb2.ComplaintFiled(
            ticket_number=ticket,
            channel=common_pb2.CHANNEL_WHATSAPP,
            reporter_id="" if anonymous else f"rep-{complaint_id[:8]}",
            masked_contact="" if anonymous else "+62812****789",
            anonymous=anonymous,
            category=category,
            location=location,
            subject=subject,
            description="Sudah enam bulan menunggu.",
            language="id",
        ),
        common_pb2.Actor(id="whatsapp", kind=common_pb2.ACTOR_KIND_GATEWAY, role="gateway"),
    )
    history.add(
        at + timedelta(seconds=2),
        complaint_id,
        events_pb2.CaseOpened(
            ticket_number=ticket,
            category=category,
            location=location,
            filed_at=ts(at),
            resolution_due=ts(at + timedelta(days=60)),
        ),
    )
    return complaint_id, ticket


def scenario(
    count: int, seed: int, *, start: datetime = EPOCH, days: int = 20
) -> tuple[History, list[str]]:
    """A seeded random history of `count` complaints: routing, classification, acceptance,
    reassignments (escalate, delegate, transfer), responses, SLA breaches, ping-pong flags,
    resolutions, reopenings, closures, ratings, withdrawals, erasures and deliveries."""
    rng = random.Random(seed)
    history = History()
    regencies = sorted(area_registry().regencies)
    ids: list[str] = []
    categories = [
        common_pb2.CATEGORY_LAND_SERVICE,
        common_pb2.CATEGORY_LAND_DISPUTE,
        common_pb2.CATEGORY_SPATIAL_PLANNING,
        common_pb2.CATEGORY_UNCLASSIFIED,
        common_pb2.CATEGORY_ILLEGAL_LEVY,
    ]
    subjects = ["Sertifikat belum terbit", "Sengketa batas", "Pungutan liar", "Ukur ulang"]
    delivery = 0
    for number in range(count):
        at = start + timedelta(seconds=rng.randint(0, days * 86400))
        regency = rng.choice(regencies)
        category = rng.choice(categories)
        complaint_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        ids.append(complaint_id)
        file_complaint(
            history,
            at,
            regency,
            complaint_id=complaint_id,
            ticket=f"ADU-{number:06d}",
            category=category,
            subject=f"{rng.choice(subjects)} #{number}",
            anonymous=rng.random() < 0.1,
        )
        kantah = f"KANTAH.{regency}"
        kanwil = f"KANWIL.{regency.split('.')[0]}"
        holder = (
            "PUSAT.IP3"
            if category == common_pb2.CATEGORY_UNCLASSIFIED
            else "PUSAT.ITJEN"
            if category == common_pb2.CATEGORY_ILLEGAL_LEVY
            else kantah
        )
        t = at + timedelta(seconds=3)
        history.add(
            t,
            complaint_id,
            events_pb2.CaseRouted(
                to_office=office(holder),
                rule_id="default",
                ruleset_version="2026.1",
                accept_due=ts(t + timedelta(days=3)),
            ),
        )

        def later(hours: float = 30) -> datetime:
            nonlocal t
            t = t + timedelta(seconds=rng.randint(60, int(hours * 3600)))
            return t

        def deliver(source: str, complaint_id: str = complaint_id) -> None:
            nonlocal delivery
            if rng.random() < 0.5:
                return
            delivery += 1
            delivery_id = f"dlv-{delivery}"
            history.add(
                later(0.1),
                complaint_id,
                events_pb2.DeliveryScheduled(
                    delivery_id=delivery_id,
                    recipient_kind=events_pb2.RECIPIENT_KIND_REPORTER,
                    recipient=f"rep-{complaint_id[:8]}",
                    channel=events_pb2.DELIVERY_CHANNEL_WHATSAPP,
                    template=source,
                    source_event_id=source,
                    idempotency_key=f"{source}:{delivery}",
                ),
            )
            history.add(
                later(0.1),
                complaint_id,
                events_pb2.DeliverySent(delivery_id=delivery_id, attempt=1),
            )

        deliver("case_routed")
        if holder == "PUSAT.IP3":
            history.add(
                later(),
                complaint_id,
                events_pb2.CaseClassified(
                    category=common_pb2.CATEGORY_LAND_SERVICE,
                    location=common_pb2.Location(
                        province_code=regency.split(".")[0], regency_code=regency
                    ),
                    scope=common_pb2.SCOPE_LOCAL,
                    note="triage",
                ),
                officer(holder, 1),
            )
            history.add(
                later(1),
                complaint_id,
                events_pb2.CaseReassigned(
                    kind=common_pb2.REASSIGNMENT_KIND_REROUTE,
                    from_office=office(holder),
                    to_office=office(kantah),
                    reason_code=common_pb2.REASON_CODE_RECLASSIFIED,
                    rule_id="land-service-kantah",
                    ruleset_version="2026.1",
                    accept_due=ts(t + timedelta(days=3)),
                ),
            )
            holder = kantah
        if rng.random() < 0.05:
            history.add(
                later(),
                complaint_id,
                events_pb2.ComplaintWithdrawn(reason="sudah selesai"),
                common_pb2.Actor(id="reporter", kind=common_pb2.ACTOR_KIND_REPORTER),
            )
            history.add(later(0.2), complaint_id, events_pb2.CaseClosed(reason="withdrawn"))
            continue
        if rng.random() < 0.15:
            escalated = kanwil if holder.startswith("KANTAH") else "PUSAT.IP3"
            history.add(
                later(80),
                complaint_id,
                events_pb2.SlaBreached(
                    sla=common_pb2.SLA_KIND_ACCEPT,
                    office=office(holder),
                    due_at=ts(t),
                    escalated_to=office(escalated),
                ),
            )
            holder = escalated
        history.add(
            later(),
            complaint_id,
            events_pb2.CaseAccepted(office=office(holder), response_due=ts(t + timedelta(days=5))),
            officer(holder, 2),
        )
        moves = rng.choice([0, 0, 0, 1, 1, 2, 3, 5])
        for move in range(moves):
            if holder.startswith("KANTAH"):
                target, kind, reason = (
                    kanwil,
                    common_pb2.REASSIGNMENT_KIND_ESCALATE,
                    common_pb2.REASON_CODE_WIDE_IMPACT,
                )
            elif holder.startswith("KANWIL"):
                target, kind, reason = (
                    kantah,
                    common_pb2.REASSIGNMENT_KIND_DELEGATE,
                    common_pb2.REASON_CODE_FIELD_WORK_NEEDED,
                )
            else:
                target, kind, reason = (
                    kanwil,
                    common_pb2.REASSIGNMENT_KIND_DELEGATE,
                    common_pb2.REASON_CODE_WRONG_JURISDICTION,
                )
            history.add(
                later(),
                complaint_id,
                events_pb2.CaseReassigned(
                    kind=kind,
                    from_office=office(holder),
                    to_office=office(target),
                    reason_code=reason,
                    note=f"move {move + 1}",
                    accept_due=ts(t + timedelta(days=3)),
                    held_seconds=3600,
                ),
                officer(holder, 3),
            )
            if move == 3:
                history.add(
                    later(0.1),
                    complaint_id,
                    events_pb2.PingPongFlagged(
                        reassignment_count=move + 1,
                        returned_to=office(target),
                        supervising_office=office("PUSAT.IP3"),
                    ),
                )
            holder = target
            history.add(
                later(),
                complaint_id,
                events_pb2.CaseAccepted(
                    office=office(holder), response_due=ts(t + timedelta(days=5))
                ),
                officer(holder, 4),
            )
        if rng.random() < 0.85:
            history.add(
                later(),
                complaint_id,
                events_pb2.ReporterAnswered(
                    office=office(holder), text="Sedang kami proses.", first_response=True
                ),
                officer(holder, 5),
            )
            deliver("reporter_answered")
        if rng.random() < 0.2:
            history.add(
                later(),
                complaint_id,
                events_pb2.ReporterMessageAdded(message_id=f"m-{number}", text="Kapan selesai?"),
                common_pb2.Actor(id="reporter", kind=common_pb2.ACTOR_KIND_REPORTER),
            )
        if rng.random() < 0.7:
            history.add(
                later(200),
                complaint_id,
                events_pb2.CaseResolved(office=office(holder), summary="Sertifikat diterbitkan"),
                officer(holder, 6),
            )
            if rng.random() < 0.25:
                history.add(
                    later(),
                    complaint_id,
                    events_pb2.CaseReopened(reason="belum diterima", by_reporter=True),
                    common_pb2.Actor(id="reporter", kind=common_pb2.ACTOR_KIND_REPORTER),
                )
                history.add(
                    later(100),
                    complaint_id,
                    events_pb2.CaseResolved(office=office(holder), summary="Sudah diserahkan"),
                    officer(holder, 6),
                )
            if rng.random() < 0.6:
                history.add(
                    later(),
                    complaint_id,
                    events_pb2.ResolutionRated(rating=rng.randint(1, 5), comment="ok"),
                    common_pb2.Actor(id="reporter", kind=common_pb2.ACTOR_KIND_REPORTER),
                )
            if rng.random() < 0.8:
                history.add(later(240), complaint_id, events_pb2.CaseClosed(automatic=True))
        if rng.random() < 0.03:
            history.add(
                later(),
                complaint_id,
                events_pb2.ReporterErased(reporter_id=f"rep-{complaint_id[:8]}", reason="request"),
            )
    history.seal()
    return history, ids


def lifecycle() -> tuple[History, str]:
    """One complaint through routing, escalation, acceptance, answer, breach, resolution,
    reopening, closure, rating and erasure."""
    history = History()
    complaint_id, _ = file_complaint(history, EPOCH, "32.73", ticket="ADU-LIFE-0001")
    t = EPOCH + timedelta(minutes=1)
    history.add(
        t,
        complaint_id,
        events_pb2.CaseRouted(
            to_office=office("KANTAH.32.73"),
            rule_id="land-service",
            accept_due=ts(t + timedelta(days=3)),
        ),
    )
    history.add(
        t + timedelta(hours=2),
        complaint_id,
        events_pb2.CaseReassigned(
            kind=common_pb2.REASSIGNMENT_KIND_ESCALATE,
            from_office=office("KANTAH.32.73"),
            to_office=office("KANWIL.32"),
            reason_code=common_pb2.REASON_CODE_WIDE_IMPACT,
            note="affects three villages",
            accept_due=ts(t + timedelta(days=4)),
        ),
        officer("KANTAH.32.73", 1),
    )
    history.add(
        t + timedelta(hours=3),
        complaint_id,
        events_pb2.CaseAccepted(office=office("KANWIL.32"), response_due=ts(t + timedelta(days=6))),
        officer("KANWIL.32", 2),
    )
    history.add(
        t + timedelta(hours=4),
        complaint_id,
        events_pb2.ReporterAnswered(
            office=office("KANWIL.32"), text="Kami proses", first_response=True
        ),
        officer("KANWIL.32", 2),
    )
    history.add(
        t + timedelta(hours=5),
        complaint_id,
        events_pb2.ReporterAnswered(office=office("KANWIL.32"), text="Masih diproses"),
        officer("KANWIL.32", 2),
    )
    history.add(
        t + timedelta(days=7),
        complaint_id,
        events_pb2.SlaBreached(sla=common_pb2.SLA_KIND_FIRST_RESPONSE, office=office("KANWIL.32")),
    )
    history.add(
        t + timedelta(days=8),
        complaint_id,
        events_pb2.CaseResolved(office=office("KANWIL.32"), summary="selesai"),
        officer("KANWIL.32", 2),
    )
    history.add(
        t + timedelta(days=9),
        complaint_id,
        events_pb2.CaseReopened(reason="belum", by_reporter=True),
    )
    history.add(
        t + timedelta(days=10),
        complaint_id,
        events_pb2.CaseResolved(office=office("KANWIL.32"), summary="selesai sekarang"),
        officer("KANWIL.32", 2),
    )
    history.add(t + timedelta(days=11), complaint_id, events_pb2.ResolutionRated(rating=4))
    history.add(t + timedelta(days=20), complaint_id, events_pb2.CaseClosed(automatic=True))
    history.add(t + timedelta(days=30), complaint_id, events_pb2.ReporterErased(reporter_id="r"))
    history.seal()
    return history, complaint_id


# -- EventLog servers ----------------------------------------------------------------------------


class FakeEventLog(eventlog_pb2_grpc.EventLogServicer):
    """aduan.v1.EventLog over a list of envelopes (one write service's log)."""

    def __init__(self, service: str, log: Sequence[events_pb2.Envelope]) -> None:
        self.service = service
        self.log = log
        self.reads = 0

    async def Read(  # noqa: N802 - gRPC method name
        self, request: eventlog_pb2.ReadEventsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[events_pb2.Envelope]:
        self.reads += 1
        sent = 0
        for envelope in list(self.log):
            if envelope.position <= request.after_position:
                continue
            yield envelope
            sent += 1
            if request.limit and sent >= request.limit:
                return
            if sent % 200 == 0:
                await asyncio.sleep(0)

    async def GetHead(  # noqa: N802 - gRPC method name
        self, request: eventlog_pb2.GetHeadRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> eventlog_pb2.GetHeadResponse:
        return eventlog_pb2.GetHeadResponse(
            service=self.service, position=self.log[-1].position if self.log else 0
        )


@asynccontextmanager
async def serve_eventlogs(
    logs: dict[str, list[events_pb2.Envelope]],
) -> AsyncIterator[tuple[dict[str, str], dict[str, FakeEventLog]]]:
    """One in-process EventLog server per service, on free loopback ports."""
    servers: list[grpc.aio.Server] = []
    addresses: dict[str, str] = {}
    fakes: dict[str, FakeEventLog] = {}
    try:
        for service, log in logs.items():
            server = grpc.aio.server()
            fake = FakeEventLog(service, log)
            eventlog_pb2_grpc.add_EventLogServicer_to_server(fake, server)
            port = free_port()
            server.add_insecure_port(f"127.0.0.1:{port}")
            await server.start()
            servers.append(server)
            addresses[service] = f"127.0.0.1:{port}"
            fakes[service] = fake
        yield addresses, fakes
    finally:
        for server in servers:
            await server.stop(grace=None)
