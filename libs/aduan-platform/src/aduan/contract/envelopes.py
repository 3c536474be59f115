"""Translation between stored domain events and the published `aduan.v1.Envelope` contract.

Each write service registers one payload builder per domain-event class (its adapter layer);
the envelope fields common to all events (ids, position, actor, causation, trace context) are
filled here from the event's `meta`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from eventsourcing.persistence import Notification
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from aduan.core.context import Actor, ActorKind, CommandContext
from aduan.core.telemetry import current_trace_headers
from aduan.eventstore.chain import parse_state
from aduan.eventstore.checkpoint import SEALED_EVENT
from aduan.v1 import common_pb2, events_pb2

PayloadBuilder = Callable[[Any], Message]

_PAYLOAD_FIELD_BY_TYPE: dict[str, str] = {
    field.message_type.name: field.name
    for field in events_pb2.Envelope.DESCRIPTOR.oneofs_by_name["payload"].fields
    if field.message_type is not None
}

_ACTOR_KINDS = {
    ActorKind.OFFICER: common_pb2.ACTOR_KIND_OFFICER,
    ActorKind.SERVICE: common_pb2.ACTOR_KIND_SERVICE,
    ActorKind.SYSTEM: common_pb2.ACTOR_KIND_SYSTEM,
    ActorKind.REPORTER: common_pb2.ACTOR_KIND_REPORTER,
    ActorKind.GATEWAY: common_pb2.ACTOR_KIND_GATEWAY,
}


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def subject_for(service: str, event_type: str) -> str:
    return f"aduan.{service}.{snake_case(event_type)}"


def timestamp(moment: datetime | None) -> Timestamp:
    stamp = Timestamp()
    if moment is not None:
        stamp.FromDatetime(moment)
    return stamp


def event_id(service: str, position: int) -> str:
    return f"{service}:{position}"


def payload_of(envelope: events_pb2.Envelope) -> Message | None:
    kind = envelope.WhichOneof("payload")
    return None if kind is None else getattr(envelope, kind)


def checkpoint_sealed(event: Any) -> events_pb2.CheckpointSealed:
    return events_pb2.CheckpointSealed(
        service=event.service,
        from_position=event.from_position,
        to_position=event.to_position,
        event_count=event.event_count,
        root=base64.b64decode(event.root),
        signature=base64.b64decode(event.signature),
        key_id=event.key_id,
        public_key=base64.b64decode(event.public_key),
        manifest=base64.b64decode(event.manifest),
        algorithm=event.algorithm,
    )


# Events every write service stores (the platform's own), published like the service's events.
PLATFORM_BUILDERS: dict[type, PayloadBuilder] = {SEALED_EVENT: checkpoint_sealed}
# Platform events that belong to no complaint.
_NOT_COMPLAINT_EVENTS = (SEALED_EVENT,)


class EnvelopeTranslator:
    """Stored event -> Envelope, for one service."""

    def __init__(self, service: str, builders: Mapping[type, PayloadBuilder]) -> None:
        self.service = service
        self._builders = {**PLATFORM_BUILDERS, **builders}

    def translate(
        self, notification: Notification, event: Any, *, include_stored: bool = False
    ) -> events_pb2.Envelope | None:
        """The envelope for a stored event, or None for events outside the published contract.

        The chain hashes are always filled; `include_stored` adds the stored topic and state, so
        that a verifier can recompute the hash."""
        builder = self._builders.get(type(event))
        if builder is None:
            return None
        payload = builder(event)
        event_type = payload.DESCRIPTOR.name
        field = _PAYLOAD_FIELD_BY_TYPE.get(event_type)
        if field is None:
            raise TypeError(f"{event_type} is not a payload of aduan.v1.Envelope")
        ctx = CommandContext.from_meta(getattr(event, "meta", None) or {})
        envelope = events_pb2.Envelope(
            event_id=event_id(self.service, notification.id),
            event_type=event_type,
            complaint_id=(
                ""
                if isinstance(event, _NOT_COMPLAINT_EVENTS)
                else str(getattr(event, "complaint_id", "") or event.originator_id)
            ),
            service=self.service,
            position=notification.id,
            occurred_at=timestamp(event.timestamp),
            actor=common_pb2.Actor(
                id=ctx.actor.id,
                kind=_ACTOR_KINDS[ctx.actor.kind],
                role=ctx.actor.role,
                office_code=ctx.actor.office_code,
            ),
            causation_id=ctx.causation_id,
            correlation_id=ctx.correlation_id,
            traceparent=ctx.traceparent,
            tracestate=ctx.tracestate,
            aggregate_id=str(event.originator_id),
            aggregate_version=event.originator_version,
        )
        link = parse_state(notification.state)
        envelope.event_hash = link.event_hash
        envelope.prev_event_hash = link.prev_hash
        if include_stored:
            envelope.stored_topic = notification.topic
            envelope.stored_state = notification.state
        getattr(envelope, field).CopyFrom(payload)
        return envelope


def undecodable_envelope(service: str, notification: Notification) -> events_pb2.Envelope:
    """An envelope without payload for a stored event that no longer decodes (e.g. its state was
    altered in the database): the verifier still gets its position, aggregate and stored bytes."""
    link = parse_state(notification.state)
    return events_pb2.Envelope(
        event_id=event_id(service, notification.id),
        service=service,
        position=notification.id,
        aggregate_id=str(notification.originator_id),
        aggregate_version=notification.originator_version,
        event_hash=link.event_hash,
        prev_event_hash=link.prev_hash,
        stored_topic=notification.topic,
        stored_state=notification.state,
    )


def reaction_context(envelope: events_pb2.Envelope, actor: Actor) -> CommandContext:
    """The context for work `actor` does in reaction to `envelope`: same correlation and trace,
    caused by the envelope's event."""
    active = current_trace_headers()
    return CommandContext(
        actor=actor,
        correlation_id=envelope.correlation_id,
        causation_id=envelope.event_id,
        traceparent=active.get("traceparent", envelope.traceparent),
        tracestate=active.get("tracestate", envelope.tracestate),
    )
