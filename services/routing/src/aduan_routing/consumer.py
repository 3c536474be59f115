"""Adapter: intake's integration events (aduan.v1.Envelope) -> the routing application.

The TrackedConsumer (durable "routing-intake") feeds envelopes in order; each is applied together
with its tracking record in one transaction, so a redelivery raises DuplicateEventError and is
skipped (docs/architecture.md, rule 2).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC

from aduan.contract.envelopes import reaction_context
from aduan.core.context import Actor
from aduan.messaging.jetstream import envelope_span, process_each
from aduan.reference.categories import Category
from aduan.reference.locations import Location
from aduan.v1 import common_pb2, events_pb2
from aduan_routing.application import RoutingApplication
from aduan_routing.contract import location_of
from aduan_routing.reactions import CaseChange, Filing, IntakeReaction, Learned, Replied, Withdrawn

ACTOR = Actor.service("routing")


def _category(value: int) -> Category:
    name = common_pb2.Category.Name(value).removeprefix("CATEGORY_")
    return Category.UNCLASSIFIED if name == "UNSPECIFIED" else Category(name)


class IntakeReactor:
    """EnvelopeProcessor over the routing application."""

    def __init__(self, app: RoutingApplication) -> None:
        self.app = app

    def last_position(self, upstream: str) -> int:
        return self.app.tracked_position(upstream)

    def process(self, envelope: events_pb2.Envelope) -> None:
        upstream, position = envelope.service, envelope.position
        kind = envelope.WhichOneof("payload")
        ctx = reaction_context(envelope, ACTOR)
        try:
            complaint_id = uuid.UUID(envelope.complaint_id)
        except ValueError:
            self.app.note_upstream(upstream=upstream, position=position)
            return
        if kind == "complaint_filed":
            self.app.open_case(
                filing_of(envelope, complaint_id),
                upstream=upstream,
                position=position,
                ctx=ctx,
            )
        elif kind in LEARNING_EVENTS:
            self.app.details_learned(
                learned_of(envelope, complaint_id), upstream=upstream, position=position, ctx=ctx
            )
        elif kind == "reporter_message_added":
            self.app.reporter_replied(complaint_id, upstream=upstream, position=position, ctx=ctx)
        elif kind == "complaint_withdrawn":
            self.app.complaint_withdrawn(
                complaint_id,
                envelope.complaint_withdrawn.reason,
                upstream=upstream,
                position=position,
                ctx=ctx,
            )
        else:
            self.app.note_upstream(upstream=upstream, position=position)

    def process_batch(self, envelopes: Sequence[events_pb2.Envelope]) -> int:
        """The envelopes' reactions, ticket claims and tracking records in one transaction (see
        RoutingApplication.react_batch); on a store that cannot, each envelope in its own.
        Returns how many were processed (not tracked before)."""
        if not self.app.joint_writes:
            return process_each(self, envelopes)
        return self.app.react_batch([reaction_of(envelope) for envelope in envelopes])


def filing_of(envelope: events_pb2.Envelope, complaint_id: uuid.UUID) -> Filing:
    filed = envelope.complaint_filed
    return Filing(
        complaint_id=complaint_id,
        ticket_number=filed.ticket_number,
        category=_category(filed.category),
        location=location_of(filed.location),
        confidential=filed.confidential,
        filed_at=envelope.occurred_at.ToDatetime(tzinfo=UTC),
        details_due=(
            filed.details_due.ToDatetime(tzinfo=UTC)
            if filed.details_pending and filed.HasField("details_due")
            else None
        ),
    )


LEARNING_EVENTS = frozenset({"complaint_located", "complaint_classified", "details_requested"})


def learned_of(envelope: events_pb2.Envelope, complaint_id: uuid.UUID) -> Learned:
    """What intake learned (or that it asked the reporter), as routing records it."""
    kind = envelope.WhichOneof("payload")
    if kind == "details_requested":
        return Learned(complaint_id, None, None, True, "")
    event = envelope.complaint_located if kind == "complaint_located" else None
    found = event or envelope.complaint_classified
    source = events_pb2.DetailSource.Name(found.source).removeprefix("DETAIL_SOURCE_").lower()
    note = f"intake {source.replace('_', ' ')}: {found.rule_id}"
    if event is not None:
        # The codes only: the case keeps the address the reporter wrote (Learned.location_for).
        location = Location(
            province_code=event.location.province_code,
            regency_code=event.location.regency_code,
        )
        return Learned(complaint_id, None, location, event.details_pending, note)
    classified = envelope.complaint_classified
    return Learned(
        complaint_id, _category(classified.category), None, classified.details_pending, note
    )


def reaction_of(envelope: events_pb2.Envelope) -> IntakeReaction:
    """What an intake event means to routing (as `IntakeReactor.process` acts on it)."""
    kind = envelope.WhichOneof("payload")
    change: Filing | CaseChange | None = None
    try:
        complaint_id = uuid.UUID(envelope.complaint_id)
    except ValueError:
        kind = None
    if kind == "complaint_filed":
        change = filing_of(envelope, complaint_id)
    elif kind in LEARNING_EVENTS:
        change = learned_of(envelope, complaint_id)
    elif kind == "reporter_message_added":
        change = Replied(complaint_id)
    elif kind == "complaint_withdrawn":
        change = Withdrawn(complaint_id, envelope.complaint_withdrawn.reason)
    with envelope_span(envelope):  # the reaction continues the envelope's trace
        ctx = reaction_context(envelope, ACTOR)
    return IntakeReaction(
        upstream=envelope.service,
        position=envelope.position,
        previous_position=envelope.previous_position,
        change=change,
        ctx=ctx,
    )
