"""What notifies whom: upstream events -> the per-complaint facts notification keeps, and the
deliveries to schedule. Pure functions over plain data (no transport, no store).

| upstream event        | reporter (not anonymous)      | office                                         |
|-----------------------|-------------------------------|------------------------------------------------|
| ComplaintFiled        | complaint_filed               |                                                |
| CaseRouted            | case_assigned                 | holding office: office_case_assigned           |
| CaseReassigned        | case_assigned                 | new holder: office_case_escalated (ESCALATE)   |
|                       |                               |             or office_case_assigned            |
| ReporterAnswered      | officer_response              |                                                |
| CaseResolved          | case_resolved (asks a rating) |                                                |
| CaseClosed            | case_closed                   |                                                |
| StatusRequested       | status_reply                  |                                                |
| SlaBreached           |                               | supervising office: office_sla_breached        |
| PingPongFlagged       |                               | supervising office: office_ping_pong           |

An anonymous reporter's messages are scheduled and skipped at once (reason ANONYMOUS), so that
ListDeliveries shows why nobody was told.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from aduan_notification.domain import DeliveryChannel, RecipientKind

DEFAULT_LANGUAGE = "id"
LANGUAGES = ("id", "en")
# Inbound channels whose messages open WhatsApp's 24-hour customer-service window.
WHATSAPP = "WHATSAPP"
EMAIL = "EMAIL"


class ComplaintNotKnownYetError(Exception):
    """A routing event arrived before the complaint's ComplaintFiled was processed. Transient:
    the consumer retries (and repairs the gap from the EventLog) until it is."""


@dataclass(frozen=True)
class UpstreamEvent:
    """An integration event as the domain sees it (the consumer adapter builds it from the
    envelope). `facts` holds the payload fields this service uses, as plain strings/bools/ints."""

    service: str
    position: int
    event_id: str
    event_type: str
    complaint_id: str
    occurred_at: datetime
    facts: Mapping[str, Any]
    meta: dict[str, Any]


@dataclass(frozen=True)
class ComplaintContact:
    """What notification keeps per complaint: never a phone number, address, name or NIK."""

    complaint_id: str
    ticket_number: str
    reporter_id: str
    anonymous: bool
    # The channel the reporter is answered on: WHATSAPP or EMAIL.
    reporter_channel: str
    language: str
    masked_contact: str
    office_code: str = ""
    office_name: str = ""
    status: str = "RECEIVED"
    # Last inbound WhatsApp message from the reporter (opens the 24-hour window).
    last_inbound_whatsapp_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        stamp = self.last_inbound_whatsapp_at
        data["last_inbound_whatsapp_at"] = stamp.isoformat() if stamp else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ComplaintContact:
        values = dict(data)
        stamp = values.get("last_inbound_whatsapp_at")
        values["last_inbound_whatsapp_at"] = datetime.fromisoformat(stamp) if stamp else None
        return cls(**values)

    def within_whatsapp_window(self, now: datetime, window_hours: float = 24.0) -> bool:
        stamp = self.last_inbound_whatsapp_at
        return stamp is not None and (now - stamp).total_seconds() < window_hours * 3600


@dataclass(frozen=True)
class PlannedDelivery:
    recipient_kind: RecipientKind
    recipient: str
    recipient_masked: str
    # The logical channel (WHATSAPP, EMAIL, OFFICE_WEBHOOK); the application may replace it
    # with LOG when that channel is not configured or the service runs in log mode.
    channel: DeliveryChannel
    template: str
    language: str
    variables: dict[str, str] = field(default_factory=dict)
    skip_reason: str = ""


@dataclass(frozen=True)
class Plan:
    contact: ComplaintContact | None
    contact_changed: bool
    deliveries: list[PlannedDelivery]


def reporter_channel_for(inbound_channel: str, masked_contact: str) -> str:
    """WhatsApp when the complaint came by WhatsApp or left a phone number; email otherwise."""
    if inbound_channel == WHATSAPP:
        return WHATSAPP
    if masked_contact and "@" not in masked_contact:
        return WHATSAPP
    return EMAIL


def _language(value: str) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def _reporter(
    contact: ComplaintContact, template: str, variables: dict[str, str]
) -> PlannedDelivery:
    channel = DeliveryChannel(contact.reporter_channel)
    if contact.anonymous:
        return PlannedDelivery(
            RecipientKind.REPORTER,
            "anonymous",
            "",
            channel,
            template,
            contact.language,
            {"ticket_number": contact.ticket_number, **variables},
            skip_reason="ANONYMOUS",
        )
    return PlannedDelivery(
        RecipientKind.REPORTER,
        # The contact itself is looked up by complaint id at send time.
        contact.reporter_id or "reporter",
        contact.masked_contact,
        channel,
        template,
        contact.language,
        {"ticket_number": contact.ticket_number, **variables},
    )


def _office(
    contact: ComplaintContact, office_code: str, template: str, variables: dict[str, str]
) -> PlannedDelivery:
    return PlannedDelivery(
        RecipientKind.OFFICE,
        office_code,
        office_code,
        DeliveryChannel.OFFICE_WEBHOOK,
        template,
        DEFAULT_LANGUAGE,
        {"ticket_number": contact.ticket_number, "complaint_id": contact.complaint_id, **variables},
    )


def _office_name(facts: Mapping[str, Any], prefix: str) -> str:
    return str(facts.get(f"{prefix}_name") or facts.get(f"{prefix}_code") or "")


def plan(event: UpstreamEvent, contact: ComplaintContact | None) -> Plan:
    """The contact record after `event` and the deliveries it causes."""
    facts = event.facts
    kind = event.event_type

    if kind == "ComplaintFiled":
        masked = str(facts.get("masked_contact", ""))
        inbound = str(facts.get("channel", ""))
        filed = ComplaintContact(
            complaint_id=event.complaint_id,
            ticket_number=str(facts["ticket_number"]),
            reporter_id=str(facts.get("reporter_id", "")),
            anonymous=bool(facts.get("anonymous")),
            reporter_channel=reporter_channel_for(inbound, masked),
            language=_language(str(facts.get("language", ""))),
            masked_contact=masked,
            last_inbound_whatsapp_at=event.occurred_at if inbound == WHATSAPP else None,
        )
        return Plan(filed, True, [_reporter(filed, "complaint_filed", {})])

    if contact is None:
        if kind in _IGNORED or (event.service == "intake" and kind not in _NEEDS_CONTACT):
            return Plan(None, False, [])
        raise ComplaintNotKnownYetError(
            f"{event.event_id} ({kind}) for complaint {event.complaint_id} before its filing"
        )

    if kind in ("ReporterMessageAdded", "StatusRequested") and facts.get("channel") == WHATSAPP:
        contact = replace(contact, last_inbound_whatsapp_at=event.occurred_at)
        changed = True
    else:
        changed = False

    if kind == "ReporterMessageAdded":
        return Plan(contact, changed, [])
    if kind == "StatusRequested":
        reply = _reporter(
            contact,
            "status_reply",
            {"status": contact.status, "office_name": contact.office_name},
        )
        if facts.get("channel") in (WHATSAPP, EMAIL):
            reply = replace(reply, channel=DeliveryChannel(str(facts["channel"])))
        return Plan(contact, changed, [reply])
    if kind == "ComplaintWithdrawn":
        return Plan(replace(contact, status="WITHDRAWN"), True, [])
    if kind == "CaseRouted":
        code, name = str(facts["to_office_code"]), _office_name(facts, "to_office")
        updated = replace(contact, office_code=code, office_name=name, status="ASSIGNED")
        return Plan(
            updated,
            True,
            [
                _reporter(updated, "case_assigned", {"office_name": name}),
                _office(
                    updated,
                    code,
                    "office_case_assigned",
                    {"office_name": name, "accept_due": str(facts.get("accept_due", ""))},
                ),
            ],
        )
    if kind == "CaseReassigned":
        code, name = str(facts["to_office_code"]), _office_name(facts, "to_office")
        updated = replace(contact, office_code=code, office_name=name, status="ASSIGNED")
        office_variables = {"office_name": name, "accept_due": str(facts.get("accept_due", ""))}
        if facts.get("kind") == "ESCALATE":
            template = "office_case_escalated"
            office_variables["from_office_name"] = _office_name(facts, "from_office")
        else:
            template = "office_case_assigned"
        return Plan(
            updated,
            True,
            [
                _reporter(updated, "case_assigned", {"office_name": name}),
                _office(updated, code, template, office_variables),
            ],
        )
    if kind == "CaseAccepted":
        code = str(facts.get("office_code") or contact.office_code)
        name = _office_name(facts, "office") or contact.office_name
        return Plan(
            replace(contact, office_code=code, office_name=name, status="IN_PROGRESS"), True, []
        )
    if kind == "ReporterAnswered":
        name = _office_name(facts, "office") or contact.office_name
        return Plan(
            contact,
            changed,
            [
                _reporter(
                    contact,
                    "officer_response",
                    {"office_name": name, "response_text": str(facts.get("text", ""))},
                )
            ],
        )
    if kind == "CaseResolved":
        name = _office_name(facts, "office") or contact.office_name
        updated = replace(contact, status="RESOLVED")
        return Plan(
            updated,
            True,
            [
                _reporter(
                    updated,
                    "case_resolved",
                    {"office_name": name, "summary": str(facts.get("summary", ""))},
                )
            ],
        )
    if kind == "CaseReopened":
        return Plan(replace(contact, status="IN_PROGRESS"), True, [])
    if kind == "CaseClosed":
        updated = replace(contact, status="CLOSED")
        return Plan(updated, True, [_reporter(updated, "case_closed", {})])
    if kind == "SlaBreached":
        supervisor = str(facts.get("escalated_to_code") or facts.get("office_code") or "")
        if not supervisor:
            return Plan(contact, changed, [])
        return Plan(
            contact,
            changed,
            [
                _office(
                    contact,
                    supervisor,
                    "office_sla_breached",
                    {
                        "office_name": _office_name(facts, "office"),
                        "sla": str(facts.get("sla", "")),
                        "due_at": str(facts.get("due_at", "")),
                    },
                )
            ],
        )
    if kind == "PingPongFlagged":
        supervisor = str(facts.get("supervising_office_code") or "")
        if not supervisor:
            return Plan(contact, changed, [])
        return Plan(
            contact,
            changed,
            [
                _office(
                    contact,
                    supervisor,
                    "office_ping_pong",
                    {
                        "reassignment_count": str(facts.get("reassignment_count", "")),
                        "returned_to_name": _office_name(facts, "returned_to"),
                    },
                )
            ],
        )
    return Plan(contact, changed, [])


# Events that never notify anyone and need no complaint record.
_IGNORED = frozenset(
    {
        "ContactRevealed",
        "ReporterErased",
        "ResolutionRated",
        "CaseOpened",
        "CaseClassified",
        "DeliveryScheduled",
        "DeliveryAttempted",
        "DeliverySent",
        "DeliveryFailed",
        "DeliveryGaveUp",
        "DeliverySkipped",
    }
)
# Intake events after the filing that need the complaint record.
_NEEDS_CONTACT = frozenset({"StatusRequested"})
