"""What notifies whom: upstream events -> the per-complaint facts notification keeps, and the
deliveries to schedule. Pure functions over plain data (no transport, no store).

| upstream event        | reporter (not anonymous)      | office                                         |
|-----------------------|-------------------------------|------------------------------------------------|
| ComplaintFiled        | complaint_filed               |                                                |
| DetailsRequested      | ask_location / ask_regency /  |                                                |
|                       | ask_category (WhatsApp list)  |                                                |
| CaseRouted            | case_assigned                 | holding office: office_case_assigned           |
| CaseReassigned        | case_assigned                 | new holder: office_case_escalated (ESCALATE)   |
|                       |                               |             or office_case_assigned            |
| ReporterMessageAdded  | follow_up_received            | holding office: office_follow_up               |
|                       | (neither while RESOLVED: routing reopens; no office while unplaced) |  |
| ReporterAnswered      | officer_response              |                                                |
| CaseResolved          | case_resolved (asks a rating) |                                                |
| ResolutionRated       | rating_received               |                                                |
| CaseReopened          | case_reopened (by_reporter)   | holding office: office_case_reopened (by_reporter) |
| CaseClosed            | case_closed                   |                                                |
| StatusRequested       | status_reply                  |                                                |
| SlaBreached           |                               | supervising office: office_sla_breached        |
| PingPongFlagged       |                               | supervising office: office_ping_pong           |
| (a reporter's message |                               | holding office: office_delivery_failed         |
|  reported FAILED)     |                               |   (`undelivered_notice`)                       |

ComplaintLocated and ComplaintClassified notify nobody (routing's CaseRouted tells the reporter
where the complaint went). An anonymous reporter's messages are scheduled and skipped at once
(reason ANONYMOUS), so that ListDeliveries shows why nobody was told.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from aduan.areas import area_registry
from aduan_notification.domain import DeliveryChannel, RecipientKind

DEFAULT_LANGUAGE = "id"
LANGUAGES = ("id", "en")
# Inbound channels whose messages open WhatsApp's 24-hour customer-service window.
WHATSAPP = "WHATSAPP"
EMAIL = "EMAIL"
RESOLVED = "RESOLVED"

# The question templates, per DetailsRequested question. Each is sent as a WhatsApp list whose
# rows `aduan.questions.choices` builds at send time from the question stored with the delivery.
ASK_TEMPLATES = {
    "PROVINCE": "ask_location",
    "REGENCY": "ask_regency",
    "CATEGORY": "ask_category",
}
# Answers intake owes a WhatsApp sender about no complaint (ConversationReplyRequested), and the
# variables of each beyond reporter_name.
CONVERSATION_TEMPLATES = {
    "WELCOME": ("welcome", ()),
    "UNSUPPORTED_MESSAGE": ("unsupported_message", ("message_kind",)),
    "STATUS_OVERVIEW": ("status_overview", ("complaint_lines",)),
    "UNKNOWN_TICKET": ("status_unknown_ticket", ("ticket_number",)),
}
# The directory's status of a sender's conversation record (it is no complaint).
CONVERSATION = "CONVERSATION"

# Keys under which a question delivery stores its question beside its template variables (no
# template variable can be named so); never personal data.
QUESTION = "question.kind"
QUESTION_TICKET = "question.ticket_number"  # the reply ids name the ticket they answer
QUESTION_PROVINCE = "question.province_code"
QUESTION_CANDIDATES = "question.candidates"  # regency codes, space-separated
QUESTION_PAGE = "question.page"


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
    # A question delivery's question (QUESTION... keys): stored with the variables.
    question: dict[str, str] = field(default_factory=dict)


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
        {
            "ticket_number": contact.ticket_number,
            "complaint_id": contact.complaint_id,
            # For the times in the office's zone (templates that show one declare it).
            "office_code": office_code,
            **variables,
        },
    )


def _office_name(facts: Mapping[str, Any], prefix: str) -> str:
    return str(facts.get(f"{prefix}_name") or facts.get(f"{prefix}_code") or "")


def _on_inbound_channel(reply: PlannedDelivery, facts: Mapping[str, Any]) -> PlannedDelivery:
    """A reply to the reporter's message goes back on the channel it came by (WhatsApp, email)."""
    if facts.get("channel") in (WHATSAPP, EMAIL):
        return replace(reply, channel=DeliveryChannel(str(facts["channel"])))
    return reply


def _question(contact: ComplaintContact, facts: Mapping[str, Any]) -> PlannedDelivery | None:
    """The WhatsApp list asking the reporter where or what (DetailsRequested)."""
    question = str(facts.get("question", ""))
    template = ASK_TEMPLATES.get(question)
    if template is None:
        return None
    province_code = str(facts.get("province_code", ""))
    variables: dict[str, str] = {}
    if question == "REGENCY":
        # Static reference data (the official area registry), not a lookup of anything live.
        province = area_registry().provinces.get(province_code)
        variables["province_name"] = province.name if province is not None else province_code
    candidates = facts.get("candidates") or ()
    planned = _reporter(contact, template, variables)
    return replace(
        planned,
        # A list exists on WhatsApp only; intake asks only reporters who wrote by WhatsApp.
        channel=DeliveryChannel.WHATSAPP,
        question={
            QUESTION: question,
            QUESTION_TICKET: contact.ticket_number,
            QUESTION_PROVINCE: province_code,
            QUESTION_CANDIDATES: " ".join(str(c) for c in candidates),
            QUESTION_PAGE: str(max(1, int(facts.get("page") or 1))),
        },
    )


def undelivered_notice(
    contact: ComplaintContact | None, template_label: str
) -> PlannedDelivery | None:
    """The holding office is told that a message to the reporter could not be delivered (the
    provider reported FAILED after accepting it), so that it can reach the reporter otherwise.
    None while no office holds the complaint."""
    if contact is None or not contact.office_code:
        return None
    return _office(
        contact,
        contact.office_code,
        "office_delivery_failed",
        {"office_name": contact.office_name, "template_label": template_label},
    )


def _conversation_reply(event: UpstreamEvent) -> Plan:
    """An answer to a WhatsApp sender about no complaint, on the sender's conversation record
    (always WhatsApp, always in reply to the message just received)."""
    facts = event.facts
    conversation = ComplaintContact(
        complaint_id=event.complaint_id,
        ticket_number="",
        reporter_id=str(facts.get("reporter_id", "")),
        anonymous=False,
        reporter_channel=WHATSAPP,
        language=_language(str(facts.get("language", ""))),
        masked_contact=str(facts.get("masked_contact", "")),
        status=CONVERSATION,
        last_inbound_whatsapp_at=event.occurred_at,
    )
    known = CONVERSATION_TEMPLATES.get(str(facts.get("reply", "")))
    if known is None:
        return Plan(conversation, True, [])
    template, names = known
    variables = {name: str(facts.get(name, "")) for name in names}
    return Plan(conversation, True, [_reporter(conversation, template, variables)])


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

    if kind == "ConversationReplyRequested":
        return _conversation_reply(event)

    if contact is None:
        if kind in _IGNORED or (event.service == "intake" and kind not in _NEEDS_CONTACT):
            return Plan(None, False, [])
        raise ComplaintNotKnownYetError(
            f"{event.event_id} ({kind}) for complaint {event.complaint_id} before its filing"
        )

    # A DetailsRequested is always caused by an inbound WhatsApp message (intake asks in reply).
    inbound_whatsapp = kind == "DetailsRequested" or (
        kind in ("ReporterMessageAdded", "StatusRequested") and facts.get("channel") == WHATSAPP
    )
    last = contact.last_inbound_whatsapp_at
    if inbound_whatsapp and (last is None or last < event.occurred_at):
        contact = replace(contact, last_inbound_whatsapp_at=event.occurred_at)
        changed = True
    else:
        changed = False

    if kind == "DetailsRequested":
        question = _question(contact, facts)
        return Plan(contact, changed, [question] if question is not None else [])
    if kind == "ReporterMessageAdded":
        if contact.status == RESOLVED:
            # Routing reopens the case; its CaseReopened tells the reporter and the office.
            return Plan(contact, changed, [])
        name = contact.office_name
        deliveries = [
            _on_inbound_channel(
                _reporter(contact, "follow_up_received", {"office_name": name}), facts
            )
        ]
        if contact.office_code:  # none while the case awaits its details
            deliveries.append(
                _office(contact, contact.office_code, "office_follow_up", {"office_name": name})
            )
        return Plan(contact, changed, deliveries)
    if kind == "ResolutionRated":
        rating = str(facts.get("rating", ""))
        return Plan(contact, changed, [_reporter(contact, "rating_received", {"rating": rating})])
    if kind == "StatusRequested":
        reply = _reporter(
            contact,
            "status_reply",
            {"status": contact.status, "office_name": contact.office_name},
        )
        return Plan(contact, changed, [_on_inbound_channel(reply, facts)])
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
                    {
                        "office_name": name,
                        "summary": str(facts.get("summary", "")),
                        # When the case closes by itself, in the resolving office's zone.
                        "auto_close_due": str(facts.get("auto_close_due", "")),
                        "office_code": str(facts.get("office_code") or contact.office_code),
                    },
                )
            ],
        )
    if kind == "CaseReopened":
        updated = replace(contact, status="IN_PROGRESS")
        if not facts.get("by_reporter"):
            return Plan(updated, True, [])  # an officer reopened it: nothing new to tell
        name = updated.office_name
        variables = {"office_name": name, "reason": str(facts.get("reason", ""))}
        deliveries = [_reporter(updated, "case_reopened", variables)]
        if updated.office_code:
            deliveries.append(
                _office(updated, updated.office_code, "office_case_reopened", variables)
            )
        return Plan(updated, True, deliveries)
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
        "ComplaintLocated",
        "ComplaintClassified",
        "CaseOpened",
        "CaseClassified",
        "DeliveryScheduled",
        "DeliveryAttempted",
        "DeliverySent",
        "DeliveryFailed",
        "DeliveryGaveUp",
        "DeliverySkipped",
        "DeliveryStatusReported",
    }
)
# Intake events after the filing that need the complaint record.
_NEEDS_CONTACT = frozenset({"StatusRequested", "DetailsRequested"})
