"""Adapter: integration events (aduan.v1.Envelope) from intake and routing -> the application.

The TrackedConsumer (durable "notification") feeds envelopes here in order; `process` schedules
the deliveries and writes the tracking record in one transaction, so a redelivered event raises
DuplicateEventError and schedules nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from google.protobuf.message import Message

from aduan.context import Actor
from aduan.envelopes import payload_of, reaction_context
from aduan.jetstream import PoisonMessageError, envelope_span, process_each
from aduan.v1 import common_pb2, events_pb2
from aduan_notification.application import NotificationApplication, Reaction
from aduan_notification.rules import UpstreamEvent

DURABLE = "notification"
UPSTREAMS = ("intake", "routing")
ACTOR = Actor.service("notification")


def _enum(enum: Any, value: int, prefix: str) -> str:
    return str(enum.Name(value)).removeprefix(prefix)


def _office(prefix: str, office: common_pb2.OfficeRef) -> dict[str, str]:
    return {f"{prefix}_code": office.code, f"{prefix}_name": office.name}


def _stamp(message: Message, field: str) -> str:
    if not message.HasField(field):
        return ""
    stamp = getattr(message, field).ToDatetime(tzinfo=UTC)
    return str(stamp.isoformat())


def facts_of(envelope: events_pb2.Envelope) -> dict[str, Any]:
    """The payload fields the notification rules use, as plain values."""
    kind = envelope.WhichOneof("payload")
    p: Any = payload_of(envelope)
    if kind == "complaint_filed":
        return {
            "ticket_number": p.ticket_number,
            "channel": _enum(common_pb2.Channel, p.channel, "CHANNEL_"),
            "reporter_id": p.reporter_id,
            "masked_contact": p.masked_contact,
            "anonymous": p.anonymous,
            "language": p.language,
        }
    if kind in ("reporter_message_added", "status_requested"):
        return {"channel": _enum(common_pb2.Channel, p.channel, "CHANNEL_")}
    if kind == "details_requested":
        return {
            "question": _enum(events_pb2.DetailQuestion, p.question, "DETAIL_QUESTION_"),
            "province_code": p.province_code,
            "candidates": tuple(p.candidates),
            "page": p.page,
            "answer_due": _stamp(p, "answer_due"),
        }
    if kind == "conversation_reply_requested":
        return {
            "reply": _enum(events_pb2.ConversationReply, p.reply, "CONVERSATION_REPLY_"),
            "reporter_id": p.reporter_id,
            "masked_contact": p.masked_contact,
            "language": p.language,
            "ticket_number": p.ticket_number,
            "message_kind": p.message_kind,
            "complaint_ids": tuple(p.complaint_ids),
        }
    if kind == "resolution_rated":
        return {"rating": p.rating}
    if kind == "case_reopened":
        return {"by_reporter": p.by_reporter, "reason": p.reason}
    if kind == "case_routed":
        return {**_office("to_office", p.to_office), "accept_due": _stamp(p, "accept_due")}
    if kind == "case_reassigned":
        return {
            "kind": _enum(common_pb2.ReassignmentKind, p.kind, "REASSIGNMENT_KIND_"),
            **_office("from_office", p.from_office),
            **_office("to_office", p.to_office),
            "accept_due": _stamp(p, "accept_due"),
        }
    if kind == "case_accepted":
        return _office("office", p.office)
    if kind == "reporter_answered":
        return {**_office("office", p.office), "text": p.text}
    if kind == "case_resolved":
        return {
            **_office("office", p.office),
            "summary": p.summary,
            "auto_close_due": _stamp(p, "auto_close_due"),
        }
    if kind == "sla_breached":
        return {
            "sla": _enum(common_pb2.SlaKind, p.sla, "SLA_KIND_"),
            **_office("office", p.office),
            **_office("escalated_to", p.escalated_to),
            "due_at": _stamp(p, "due_at"),
        }
    if kind == "ping_pong_flagged":
        return {
            "reassignment_count": p.reassignment_count,
            **_office("returned_to", p.returned_to),
            **_office("supervising_office", p.supervising_office),
        }
    return {}


def upstream_event(envelope: events_pb2.Envelope) -> UpstreamEvent:
    payload = payload_of(envelope)
    if payload is None:
        raise PoisonMessageError(f"{envelope.event_id}: no payload")
    if not envelope.complaint_id:
        raise PoisonMessageError(f"{envelope.event_id}: no complaint id")
    return UpstreamEvent(
        service=envelope.service,
        position=envelope.position,
        event_id=envelope.event_id,
        event_type=str(payload.DESCRIPTOR.name),
        complaint_id=envelope.complaint_id,
        occurred_at=envelope.occurred_at.ToDatetime(tzinfo=UTC),
        facts=facts_of(envelope),
        meta=reaction_context(envelope, ACTOR).meta(),
    )


class NotificationProcessor:
    """The EnvelopeProcessor of the notification consumer."""

    def __init__(self, app: NotificationApplication) -> None:
        self.app = app

    def last_position(self, upstream: str) -> int:
        return self.app.tracked_position(upstream)

    def process(self, envelope: events_pb2.Envelope) -> None:
        if envelope.WhichOneof("payload") == "checkpoint_sealed":
            # A service sealed its log: history for auditors, no complaint, nothing to send.
            self.app.save_reaction(envelope.service, envelope.position)
            return
        self.app.react(upstream_event(envelope))

    def skip(self, envelope: events_pb2.Envelope) -> None:
        """Track a refused envelope as processed, with no effect (it is in the dead letters)."""
        self.app.save_reaction(envelope.service, envelope.position)

    def process_batch(self, envelopes: Sequence[events_pb2.Envelope]) -> int:
        """The envelopes' reactions, complaint records, claims and tracking records in one
        transaction (see NotificationApplication.react_batch); on a store that cannot, each
        envelope in its own. Returns how many were processed (not tracked before)."""
        if not self.app.joint_writes:
            return process_each(self, envelopes)
        return self.app.react_batch([reaction_of(envelope) for envelope in envelopes])


def reaction_of(envelope: events_pb2.Envelope) -> Reaction:
    sealed = envelope.WhichOneof("payload") == "checkpoint_sealed"
    with envelope_span(envelope):  # the deliveries continue the envelope's trace
        event = None if sealed else upstream_event(envelope)
    return Reaction(
        service=envelope.service,
        position=envelope.position,
        previous_position=envelope.previous_position,
        event=event,
    )
