"""Who did what, and why: the metadata that every stored event carries (docs/architecture.md, rule 5).

Transport-free: servicers and consumers build a `CommandContext`; aggregates store `ctx.meta()`
as a plain JSON-serialisable dict on each event, and the relay turns it into the envelope's actor,
causation, correlation and trace fields.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class ActorKind(StrEnum):
    OFFICER = "OFFICER"
    SERVICE = "SERVICE"
    SYSTEM = "SYSTEM"
    REPORTER = "REPORTER"
    GATEWAY = "GATEWAY"


@dataclass(frozen=True)
class Actor:
    id: str
    kind: ActorKind
    role: str = ""
    office_code: str = ""

    @classmethod
    def system(cls, component: str) -> Actor:
        return cls(id=f"system:{component}", kind=ActorKind.SYSTEM, role="system")

    @classmethod
    def service(cls, name: str) -> Actor:
        return cls(id=f"service:{name}", kind=ActorKind.SERVICE, role="service")

    def as_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "role": self.role,
            "office": self.office_code,
        }

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Actor:
        return cls(
            id=data.get("id", ""),
            kind=ActorKind(data.get("kind", ActorKind.SYSTEM.value)),
            role=data.get("role", ""),
            office_code=data.get("office", ""),
        )


@dataclass(frozen=True)
class CommandContext:
    """Everything about the cause of a command that the resulting events must record."""

    actor: Actor
    correlation_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    causation_id: str = ""
    traceparent: str = ""
    tracestate: str = ""

    def meta(self) -> dict[str, Any]:
        return {
            "actor": self.actor.as_dict(),
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "traceparent": self.traceparent,
            "tracestate": self.tracestate,
        }

    def caused_by(self, event_id: str) -> CommandContext:
        """The context for work done in reaction to the event `event_id`."""
        return replace(self, causation_id=event_id)

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> CommandContext:
        return cls(
            actor=Actor.from_dict(meta.get("actor", {})),
            correlation_id=meta.get("correlation_id", ""),
            causation_id=meta.get("causation_id", ""),
            traceparent=meta.get("traceparent", ""),
            tracestate=meta.get("tracestate", ""),
        )
