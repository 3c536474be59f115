"""Adapter: integration events (aduan.v1.Envelope) from intake and routing -> the application.

The TrackedConsumer (durable "notification") feeds envelopes here in order; `process` schedules
the deliveries and writes the tracking record in one transaction, so a redelivered event raises
DuplicateEventError and schedules nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message

from aduan.contract.envelopes import payload_of, reaction_context
from aduan.core.context import Actor
from aduan.messaging.jetstream import PoisonMessageError, envelope_span, process_each
from aduan.v1 import common_pb2, events_pb2
from aduan_notification import facts
from aduan_notification.application import NotificationApplication
from aduan_notification.reactions import Reaction
from aduan_notification.rules import UpstreamEvent

DURABLE = "notification"
UPSTREAMS = ("intake", "routing")
ACTOR = Actor.service("notification")


def _enum(enum: Any, value: int, prefix: str) -> str:
    return str(enum.Name(value)).removeprefix(prefix)


def _channel(value: int) -> str:
    return _enum(common_pb2.Channel, value, "CHANNEL_")


def _office(office: common_pb2.OfficeRef) -> facts.Office:
    return facts.Office(code=office.code, name=office.name)


def _stamp(message: Message, field: str) -> datetime | None:
    if not message.HasField(field):
        return None
    stamp: datetime = getattr(message, field).ToDatetime(tzinfo=UTC)
    return stamp


def _complaint_filed(p: events_pb2.ComplaintFiled) -> facts.ComplaintFiledFacts:
    return facts.ComplaintFiledFacts(
        ticket_number=p.ticket_number,
        channel=_channel(p.channel),
        reporter_id=p.reporter_id,
        masked_contact=p.masked_contact,
        anonymous=p.anonymous,
        language=p.language,
    )


def _details_requested(p: events_pb2.DetailsRequested) -> facts.DetailsRequestedFacts:
    return facts.DetailsRequestedFacts(
        question=_enum(events_pb2.DetailQuestion, p.question, "DETAIL_QUESTION_"),
        province_code=p.province_code,
        candidates=tuple(p.candidates),
        page=p.page,
    )


def _reporter_message_added(p: events_pb2.ReporterMessageAdded) -> facts.ReporterMessageAddedFacts:
    return facts.ReporterMessageAddedFacts(channel=_channel(p.channel))


def _status_requested(p: events_pb2.StatusRequested) -> facts.StatusRequestedFacts:
    return facts.StatusRequestedFacts(channel=_channel(p.channel))


def _complaint_withdrawn(_: events_pb2.ComplaintWithdrawn) -> facts.ComplaintWithdrawnFacts:
    return facts.ComplaintWithdrawnFacts()


def _resolution_rated(p: events_pb2.ResolutionRated) -> facts.ResolutionRatedFacts:
    return facts.ResolutionRatedFacts(rating=p.rating)


def _conversation_reply_requested(
    p: events_pb2.ConversationReplyRequested,
) -> facts.ConversationReplyRequestedFacts:
    return facts.ConversationReplyRequestedFacts(
        reply=_enum(events_pb2.ConversationReply, p.reply, "CONVERSATION_REPLY_"),
        reporter_id=p.reporter_id,
        masked_contact=p.masked_contact,
        language=p.language,
        ticket_number=p.ticket_number,
        message_kind=p.message_kind,
        complaint_ids=tuple(p.complaint_ids),
    )


def _case_routed(p: events_pb2.CaseRouted) -> facts.CaseRoutedFacts:
    return facts.CaseRoutedFacts(to_office=_office(p.to_office), accept_due=_stamp(p, "accept_due"))


def _case_reassigned(p: events_pb2.CaseReassigned) -> facts.CaseReassignedFacts:
    return facts.CaseReassignedFacts(
        to_office=_office(p.to_office),
        kind=_enum(common_pb2.ReassignmentKind, p.kind, "REASSIGNMENT_KIND_"),
        from_office=_office(p.from_office),
        accept_due=_stamp(p, "accept_due"),
    )


def _case_accepted(p: events_pb2.CaseAccepted) -> facts.CaseAcceptedFacts:
    return facts.CaseAcceptedFacts(office=_office(p.office))


def _reporter_answered(p: events_pb2.ReporterAnswered) -> facts.ReporterAnsweredFacts:
    return facts.ReporterAnsweredFacts(office=_office(p.office), text=p.text)


def _case_resolved(p: events_pb2.CaseResolved) -> facts.CaseResolvedFacts:
    return facts.CaseResolvedFacts(
        office=_office(p.office),
        summary=p.summary,
        auto_close_due=_stamp(p, "auto_close_due"),
    )


def _case_reopened(p: events_pb2.CaseReopened) -> facts.CaseReopenedFacts:
    return facts.CaseReopenedFacts(by_reporter=p.by_reporter, reason=p.reason)


def _case_closed(_: events_pb2.CaseClosed) -> facts.CaseClosedFacts:
    return facts.CaseClosedFacts()


def _sla_breached(p: events_pb2.SlaBreached) -> facts.SlaBreachedFacts:
    return facts.SlaBreachedFacts(
        sla=_enum(common_pb2.SlaKind, p.sla, "SLA_KIND_"),
        office=_office(p.office),
        escalated_to=_office(p.escalated_to),
        due_at=_stamp(p, "due_at"),
    )


def _ping_pong_flagged(p: events_pb2.PingPongFlagged) -> facts.PingPongFlaggedFacts:
    return facts.PingPongFlaggedFacts(
        reassignment_count=p.reassignment_count,
        returned_to=_office(p.returned_to),
        supervising_office=_office(p.supervising_office),
    )


# Per envelope payload notification reacts to: its facts. Each builder takes its own payload
# message (the key names the oneof field that holds it).
_FACTS: dict[str, Callable[[Any], facts.NotificationFacts]] = {
    "complaint_filed": _complaint_filed,
    "details_requested": _details_requested,
    "reporter_message_added": _reporter_message_added,
    "status_requested": _status_requested,
    "complaint_withdrawn": _complaint_withdrawn,
    "resolution_rated": _resolution_rated,
    "conversation_reply_requested": _conversation_reply_requested,
    "case_routed": _case_routed,
    "case_reassigned": _case_reassigned,
    "case_accepted": _case_accepted,
    "reporter_answered": _reporter_answered,
    "case_resolved": _case_resolved,
    "case_reopened": _case_reopened,
    "case_closed": _case_closed,
    "sla_breached": _sla_breached,
    "ping_pong_flagged": _ping_pong_flagged,
}


def facts_of(envelope: events_pb2.Envelope) -> facts.NotificationFacts | None:
    """The payload fields the notification rules use; None for a payload they ignore."""
    build = _FACTS.get(envelope.WhichOneof("payload") or "")
    return None if build is None else build(payload_of(envelope))


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
