"""Adapter: routing's stored events -> the published aduan.v1 payloads (one builder per stored
event class, so every event in the log is published and positions stay dense)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from google.protobuf.message import Message

from aduan.contract.envelopes import EnvelopeTranslator, timestamp
from aduan.reference.locations import Location
from aduan.reference.offices import OfficeLevel, OfficeRegistry, default_registry
from aduan.v1 import common_pb2, events_pb2
from aduan_routing.domain import Case

SERVICE = "routing"


def office_level(level: OfficeLevel) -> str:
    return f"OFFICE_LEVEL_{level.value}"


def _event(name: str) -> type:
    """The stored event class `Case.<name>` (made by the @event decorator, unseen by mypy)."""
    found: type = getattr(Case, name)
    return found


def office_ref(registry: OfficeRegistry, code: str) -> common_pb2.OfficeRef:
    """The reference for `code`; an office since removed from the registry keeps its code and the
    level its prefix names, so old events still translate."""
    if not code:
        return common_pb2.OfficeRef()
    office = registry.get(code)
    if office is not None:
        return common_pb2.OfficeRef(code=code, level=office_level(office.level), name=office.name)
    prefix = code.split(".", 1)[0]
    level = f"OFFICE_LEVEL_{prefix}" if prefix in OfficeLevel.__members__ else None
    return common_pb2.OfficeRef(code=code, level=level)


def _stamp(value: datetime | None) -> Any:
    return timestamp(value) if value is not None else None


def location_message(location: Location) -> common_pb2.Location:
    """The contract's Location for a typed one (published payloads and GetCase alike)."""
    return common_pb2.Location(
        province_code=location.province_code,
        regency_code=location.regency_code,
        address=location.address,
    )


def location_of(message: common_pb2.Location) -> Location:
    """The typed Location of the contract's (a filing's, an officer's classification)."""
    return Location(
        province_code=message.province_code,
        regency_code=message.regency_code,
        address=message.address,
    )


def _location(stored: dict[str, str]) -> common_pb2.Location:
    """A stored event's location (a plain mapping, see `Case.open`) as published."""
    return location_message(Location.from_fields(stored))


def builders(registry: OfficeRegistry) -> dict[type, Callable[[Any], Message]]:
    def ref(code: str) -> common_pb2.OfficeRef:
        return office_ref(registry, code)

    return {
        _event("Opened"): lambda e: events_pb2.CaseOpened(
            ticket_number=e.ticket_number,
            category=f"CATEGORY_{e.category}",
            location=_location(e.location),
            filed_at=_stamp(e.filed_at),
            resolution_due=_stamp(e.resolution_due),
            confidential=e.confidential,
            details_due=_stamp(getattr(e, "details_due", None)),
        ),
        _event("Routed"): lambda e: events_pb2.CaseRouted(
            to_office=ref(e.office),
            rule_id=e.rule_id,
            ruleset_version=e.ruleset_version,
            accept_due=_stamp(e.accept_due),
        ),
        _event("Classified"): lambda e: events_pb2.CaseClassified(
            category=f"CATEGORY_{e.category}",
            location=_location(e.location),
            scope=f"SCOPE_{e.scope}",
            note=e.note,
        ),
        _event("Accepted"): lambda e: events_pb2.CaseAccepted(
            office=ref(e.office), response_due=_stamp(e.response_due)
        ),
        _event("Reassigned"): lambda e: events_pb2.CaseReassigned(
            kind=f"REASSIGNMENT_KIND_{e.kind}",
            from_office=ref(e.from_office),
            to_office=ref(e.to_office),
            reason_code=f"REASON_CODE_{e.reason_code}",
            note=e.note,
            rule_id=e.rule_id,
            ruleset_version=e.ruleset_version,
            accept_due=_stamp(e.accept_due),
            held_seconds=e.held_seconds,
        ),
        _event("ReporterAnswered"): lambda e: events_pb2.ReporterAnswered(
            office=ref(e.office), text=e.text, first_response=e.first_response
        ),
        _event("Resolved"): lambda e: events_pb2.CaseResolved(
            office=ref(e.office), summary=e.summary, auto_close_due=_stamp(e.auto_close_due)
        ),
        _event("Reopened"): lambda e: events_pb2.CaseReopened(
            reason=e.reason, by_reporter=e.by_reporter
        ),
        _event("Closed"): lambda e: events_pb2.CaseClosed(automatic=e.automatic, reason=e.reason),
        # A withdrawal ends the case like a closure; the reason says who ended it.
        _event("Withdrawn"): lambda e: events_pb2.CaseClosed(
            automatic=False, reason=f"withdrawn by the reporter: {e.reason}".rstrip(": ")
        ),
        _event("SlaBreached"): lambda e: events_pb2.SlaBreached(
            sla=f"SLA_KIND_{e.sla}",
            office=ref(e.office),
            due_at=_stamp(e.due_at),
            escalated_to=ref(e.escalated_to),
        ),
        _event("PingPongFlagged"): lambda e: events_pb2.PingPongFlagged(
            reassignment_count=e.reassignment_count,
            returned_to=ref(e.returned_to),
            supervising_office=ref(e.supervising_office),
        ),
    }


def translator(registry: OfficeRegistry | None = None) -> EnvelopeTranslator:
    return EnvelopeTranslator(SERVICE, builders(registry or default_registry()))
