"""Adapter: intake's integration events (aduan.v1.Envelope) -> the routing application.

The TrackedConsumer (durable "routing-intake") feeds envelopes in order; each is applied together
with its tracking record in one transaction, so a redelivery raises DuplicateEventError and is
skipped (ARCHITECTURE rule 2).
"""

from __future__ import annotations

import uuid
from datetime import UTC

from aduan.context import Actor
from aduan.envelopes import reaction_context
from aduan.v1 import common_pb2, events_pb2
from aduan_routing.application import Filing, RoutingApplication
from aduan_routing.domain import Category

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
            filed = envelope.complaint_filed
            self.app.open_case(
                Filing(
                    complaint_id=complaint_id,
                    ticket_number=filed.ticket_number,
                    category=_category(filed.category),
                    location={
                        "province_code": filed.location.province_code,
                        "regency_code": filed.location.regency_code,
                        "address": filed.location.address,
                    },
                    confidential=filed.confidential,
                    filed_at=envelope.occurred_at.ToDatetime(tzinfo=UTC),
                ),
                upstream=upstream,
                position=position,
                ctx=ctx,
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
