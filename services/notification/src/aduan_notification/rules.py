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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from aduan.reference.areas import area_registry
from aduan_notification.domain import DeliveryChannel, DeliveryStatus, RecipientKind
from aduan_notification.facts import (
    CaseAcceptedFacts,
    CaseClosedFacts,
    CaseReassignedFacts,
    CaseReopenedFacts,
    CaseResolvedFacts,
    CaseRoutedFacts,
    ComplaintFiledFacts,
    ComplaintWithdrawnFacts,
    ConversationReplyRequestedFacts,
    DetailsRequestedFacts,
    NotificationFacts,
    Office,
    PingPongFlaggedFacts,
    ReporterAnsweredFacts,
    ReporterMessageAddedFacts,
    ResolutionRatedFacts,
    SlaBreachedFacts,
    StatusRequestedFacts,
)
from aduan_notification.templates import status_line

DEFAULT_LANGUAGE = "id"
LANGUAGES = ("id", "en")
# Inbound channels whose messages open WhatsApp's 24-hour customer-service window.
WHATSAPP = "WHATSAPP"
EMAIL = "EMAIL"
RESOLVED = "RESOLVED"

# The question templates, per DetailsRequested question. Each is sent as a WhatsApp list whose
# rows `aduan.reference.questions.choices` builds at send time from the question stored with the delivery.
ASK_TEMPLATES = {
    "PROVINCE": "ask_location",
    "REGENCY": "ask_regency",
    "CATEGORY": "ask_category",
}
# Answers intake owes a WhatsApp sender about no complaint (ConversationReplyRequested), and the
# variables of each beyond reporter_name.
CONVERSATION_TEMPLATES: dict[
    str, tuple[str, Callable[[ConversationReplyRequestedFacts], dict[str, str]]]
] = {
    "WELCOME": ("welcome", lambda _: {}),
    "UNSUPPORTED_MESSAGE": (
        "unsupported_message",
        lambda reply: {"message_kind": reply.message_kind},
    ),
    "STATUS_OVERVIEW": (
        "status_overview",
        lambda reply: {"complaint_lines": reply.complaint_lines},
    ),
    "UNKNOWN_TICKET": (
        "status_unknown_ticket",
        lambda reply: {"ticket_number": reply.ticket_number},
    ),
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
    envelope). `facts` holds the payload fields this service uses, typed per event kind; None
    for the kinds notification does not react to."""

    service: str
    position: int
    event_id: str
    event_type: str
    complaint_id: str
    occurred_at: datetime
    facts: NotificationFacts | None
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

    @property
    def changed_contact(self) -> ComplaintContact | None:
        """The complaint record to write: the one the event changed, else None."""
        return self.contact if self.contact_changed else None


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


def _iso(stamp: datetime | None) -> str:
    return stamp.isoformat() if stamp is not None else ""


def _on_inbound_channel(reply: PlannedDelivery, inbound_channel: str) -> PlannedDelivery:
    """A reply to the reporter's message goes back on the channel it came by (WhatsApp, email)."""
    if inbound_channel in (WHATSAPP, EMAIL):
        return replace(reply, channel=DeliveryChannel(inbound_channel))
    return reply


def _question(contact: ComplaintContact, asked: DetailsRequestedFacts) -> PlannedDelivery | None:
    """The WhatsApp list asking the reporter where or what (DetailsRequested)."""
    template = ASK_TEMPLATES.get(asked.question)
    if template is None:
        return None
    variables: dict[str, str] = {}
    if asked.question == "REGENCY":
        # Static reference data (the official area registry), not a lookup of anything live.
        province = area_registry().provinces.get(asked.province_code)
        variables["province_name"] = province.name if province is not None else asked.province_code
    planned = _reporter(contact, template, variables)
    return replace(
        planned,
        # A list exists on WhatsApp only; intake asks only reporters who wrote by WhatsApp.
        channel=DeliveryChannel.WHATSAPP,
        question={
            QUESTION: asked.question,
            QUESTION_TICKET: contact.ticket_number,
            QUESTION_PROVINCE: asked.province_code,
            QUESTION_CANDIDATES: " ".join(asked.candidates),
            QUESTION_PAGE: str(max(1, asked.page)),
        },
    )


def with_status_overview(
    event: UpstreamEvent, record_of: Callable[[str], ComplaintContact | None]
) -> UpstreamEvent:
    """A status overview for a WhatsApp sender lists their open complaints as this service
    knows them (status and holding office, from the complaint records `record_of` finds): the
    lines are written into the event's facts, for `plan`. Any other event is returned as is."""
    facts = event.facts
    if not isinstance(facts, ConversationReplyRequestedFacts) or facts.reply != "STATUS_OVERVIEW":
        return event
    language = facts.language or "id"
    lines = []
    for complaint_id in facts.complaint_ids:
        record = record_of(complaint_id)
        if record is not None:
            lines.append(
                status_line(record.ticket_number, record.status, record.office_name, language)
            )
    return replace(event, facts=replace(facts, complaint_lines="\n".join(lines)))


def tells_office_undelivered(
    before: DeliveryStatus, after: DeliveryStatus, recipient_kind: RecipientKind
) -> bool:
    """Whether a status report that moved a delivery from `before` to `after` is told to the
    holding office (`undelivered_notice`): a message to the reporter that has just become
    UNDELIVERED. A message to an office is not: the office is the one it failed to reach."""
    return (
        after is DeliveryStatus.UNDELIVERED
        and before is not DeliveryStatus.UNDELIVERED
        and recipient_kind is RecipientKind.REPORTER
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


# -- the events that need no complaint record ---------------------------------------------------


def _complaint_filed(event: UpstreamEvent, filed: ComplaintFiledFacts) -> Plan:
    contact = ComplaintContact(
        complaint_id=event.complaint_id,
        ticket_number=filed.ticket_number,
        reporter_id=filed.reporter_id,
        anonymous=filed.anonymous,
        reporter_channel=reporter_channel_for(filed.channel, filed.masked_contact),
        language=_language(filed.language),
        masked_contact=filed.masked_contact,
        last_inbound_whatsapp_at=event.occurred_at if filed.channel == WHATSAPP else None,
    )
    return Plan(contact, True, [_reporter(contact, "complaint_filed", {})])


def _conversation_reply(event: UpstreamEvent, reply: ConversationReplyRequestedFacts) -> Plan:
    """An answer to a WhatsApp sender about no complaint, on the sender's conversation record
    (always WhatsApp, always in reply to the message just received)."""
    conversation = ComplaintContact(
        complaint_id=event.complaint_id,
        ticket_number="",
        reporter_id=reply.reporter_id,
        anonymous=False,
        reporter_channel=WHATSAPP,
        language=_language(reply.language),
        masked_contact=reply.masked_contact,
        status=CONVERSATION,
        last_inbound_whatsapp_at=event.occurred_at,
    )
    known = CONVERSATION_TEMPLATES.get(reply.reply)
    if known is None:
        return Plan(conversation, True, [])
    template, variables_of = known
    return Plan(conversation, True, [_reporter(conversation, template, variables_of(reply))])


# -- the events on a complaint's record ---------------------------------------------------------
# Each gets the record (already carrying the reporter's latest inbound WhatsApp message) and
# whether that changed it.


def _details_requested(
    asked: DetailsRequestedFacts, contact: ComplaintContact, changed: bool
) -> Plan:
    question = _question(contact, asked)
    return Plan(contact, changed, [question] if question is not None else [])


def _reporter_message_added(
    message: ReporterMessageAddedFacts, contact: ComplaintContact, changed: bool
) -> Plan:
    if contact.status == RESOLVED:
        # Routing reopens the case; its CaseReopened tells the reporter and the office.
        return Plan(contact, changed, [])
    name = contact.office_name
    acknowledgement = _reporter(contact, "follow_up_received", {"office_name": name})
    deliveries = [_on_inbound_channel(acknowledgement, message.channel)]
    if contact.office_code:  # none while the case awaits its details
        deliveries.append(
            _office(contact, contact.office_code, "office_follow_up", {"office_name": name})
        )
    return Plan(contact, changed, deliveries)


def _resolution_rated(
    rated: ResolutionRatedFacts, contact: ComplaintContact, changed: bool
) -> Plan:
    thanks = _reporter(contact, "rating_received", {"rating": str(rated.rating)})
    return Plan(contact, changed, [thanks])


def _status_requested(
    request: StatusRequestedFacts, contact: ComplaintContact, changed: bool
) -> Plan:
    reply = _reporter(
        contact,
        "status_reply",
        {"status": contact.status, "office_name": contact.office_name},
    )
    return Plan(contact, changed, [_on_inbound_channel(reply, request.channel)])


def _complaint_withdrawn(
    _withdrawn: ComplaintWithdrawnFacts, contact: ComplaintContact, _changed: bool
) -> Plan:
    return Plan(replace(contact, status="WITHDRAWN"), True, [])


def _assigned(
    contact: ComplaintContact, office: Office, template: str, office_variables: dict[str, str]
) -> Plan:
    """The reporter and the office now holding the case hear of it (CaseRouted, CaseReassigned)."""
    updated = replace(contact, office_code=office.code, office_name=office.label, status="ASSIGNED")
    return Plan(
        updated,
        True,
        [
            _reporter(updated, "case_assigned", {"office_name": office.label}),
            _office(updated, office.code, template, office_variables),
        ],
    )


def _case_routed(routed: CaseRoutedFacts, contact: ComplaintContact, _changed: bool) -> Plan:
    office_variables = {
        "office_name": routed.to_office.label,
        "accept_due": _iso(routed.accept_due),
    }
    return _assigned(contact, routed.to_office, "office_case_assigned", office_variables)


def _case_reassigned(
    reassigned: CaseReassignedFacts, contact: ComplaintContact, _changed: bool
) -> Plan:
    office_variables = {
        "office_name": reassigned.to_office.label,
        "accept_due": _iso(reassigned.accept_due),
    }
    if reassigned.kind == "ESCALATE":
        template = "office_case_escalated"
        office_variables["from_office_name"] = reassigned.from_office.label
    else:
        template = "office_case_assigned"
    return _assigned(contact, reassigned.to_office, template, office_variables)


def _case_accepted(accepted: CaseAcceptedFacts, contact: ComplaintContact, _changed: bool) -> Plan:
    code = accepted.office.code or contact.office_code
    name = accepted.office.label or contact.office_name
    return Plan(
        replace(contact, office_code=code, office_name=name, status="IN_PROGRESS"), True, []
    )


def _reporter_answered(
    answered: ReporterAnsweredFacts, contact: ComplaintContact, changed: bool
) -> Plan:
    name = answered.office.label or contact.office_name
    response = _reporter(
        contact, "officer_response", {"office_name": name, "response_text": answered.text}
    )
    return Plan(contact, changed, [response])


def _case_resolved(resolved: CaseResolvedFacts, contact: ComplaintContact, _changed: bool) -> Plan:
    updated = replace(contact, status=RESOLVED)
    variables = {
        "office_name": resolved.office.label or contact.office_name,
        "summary": resolved.summary,
        # When the case closes by itself, in the resolving office's zone.
        "auto_close_due": _iso(resolved.auto_close_due),
        "office_code": resolved.office.code or contact.office_code,
    }
    return Plan(updated, True, [_reporter(updated, "case_resolved", variables)])


def _case_reopened(reopened: CaseReopenedFacts, contact: ComplaintContact, _changed: bool) -> Plan:
    updated = replace(contact, status="IN_PROGRESS")
    if not reopened.by_reporter:
        return Plan(updated, True, [])  # an officer reopened it: nothing new to tell
    variables = {"office_name": updated.office_name, "reason": reopened.reason}
    deliveries = [_reporter(updated, "case_reopened", variables)]
    if updated.office_code:
        deliveries.append(_office(updated, updated.office_code, "office_case_reopened", variables))
    return Plan(updated, True, deliveries)


def _case_closed(_closed: CaseClosedFacts, contact: ComplaintContact, _changed: bool) -> Plan:
    updated = replace(contact, status="CLOSED")
    return Plan(updated, True, [_reporter(updated, "case_closed", {})])


def _sla_breached(breach: SlaBreachedFacts, contact: ComplaintContact, changed: bool) -> Plan:
    supervisor = breach.escalated_to.code or breach.office.code
    if not supervisor:
        return Plan(contact, changed, [])
    variables = {
        "office_name": breach.office.label,
        "sla": breach.sla,
        "due_at": _iso(breach.due_at),
    }
    return Plan(contact, changed, [_office(contact, supervisor, "office_sla_breached", variables)])


def _ping_pong_flagged(
    flagged: PingPongFlaggedFacts, contact: ComplaintContact, changed: bool
) -> Plan:
    supervisor = flagged.supervising_office.code
    if not supervisor:
        return Plan(contact, changed, [])
    variables = {
        "reassignment_count": str(flagged.reassignment_count),
        "returned_to_name": flagged.returned_to.label,
    }
    return Plan(contact, changed, [_office(contact, supervisor, "office_ping_pong", variables)])


_FactsT = TypeVar("_FactsT")
_OpeningHandler = Callable[[UpstreamEvent, _FactsT], Plan]
_RecordHandler = Callable[[_FactsT, ComplaintContact, bool], Plan]


def _opening(
    kind: type[_FactsT], handler: _OpeningHandler[_FactsT]
) -> tuple[type[Any], _OpeningHandler[Any]]:
    """A table entry whose handler takes the facts of its key (checked by the type checker)."""
    return kind, handler


def _on_record(
    kind: type[_FactsT], handler: _RecordHandler[_FactsT]
) -> tuple[type[Any], _RecordHandler[Any]]:
    """A table entry whose handler takes the facts of its key (checked by the type checker)."""
    return kind, handler


# The events that start a record of their own, whatever notification knew before.
_OPENING_HANDLERS = dict(
    [
        _opening(ComplaintFiledFacts, _complaint_filed),
        _opening(ConversationReplyRequestedFacts, _conversation_reply),
    ]
)
# The events about a complaint notification must know (its ComplaintFiled processed).
_RECORD_HANDLERS = dict(
    [
        _on_record(DetailsRequestedFacts, _details_requested),
        _on_record(ReporterMessageAddedFacts, _reporter_message_added),
        _on_record(ResolutionRatedFacts, _resolution_rated),
        _on_record(StatusRequestedFacts, _status_requested),
        _on_record(ComplaintWithdrawnFacts, _complaint_withdrawn),
        _on_record(CaseRoutedFacts, _case_routed),
        _on_record(CaseReassignedFacts, _case_reassigned),
        _on_record(CaseAcceptedFacts, _case_accepted),
        _on_record(ReporterAnsweredFacts, _reporter_answered),
        _on_record(CaseResolvedFacts, _case_resolved),
        _on_record(CaseReopenedFacts, _case_reopened),
        _on_record(CaseClosedFacts, _case_closed),
        _on_record(SlaBreachedFacts, _sla_breached),
        _on_record(PingPongFlaggedFacts, _ping_pong_flagged),
    ]
)


def _opens_whatsapp_window(facts: NotificationFacts | None) -> bool:
    """Whether the event stands for an inbound WhatsApp message from the reporter. A
    DetailsRequested always does: intake asks only in reply to one."""
    if isinstance(facts, ReporterMessageAddedFacts | StatusRequestedFacts):
        return facts.channel == WHATSAPP
    return isinstance(facts, DetailsRequestedFacts)


def plan(event: UpstreamEvent, contact: ComplaintContact | None) -> Plan:
    """The contact record after `event` and the deliveries it causes."""
    facts = event.facts
    opening = _OPENING_HANDLERS.get(type(facts))
    if opening is not None:
        return opening(event, facts)

    kind = event.event_type
    if contact is None:
        if kind in _IGNORED or (event.service == "intake" and kind not in _NEEDS_CONTACT):
            return Plan(None, False, [])
        raise ComplaintNotKnownYetError(
            f"{event.event_id} ({kind}) for complaint {event.complaint_id} before its filing"
        )

    last = contact.last_inbound_whatsapp_at
    if _opens_whatsapp_window(facts) and (last is None or last < event.occurred_at):
        contact = replace(contact, last_inbound_whatsapp_at=event.occurred_at)
        changed = True
    else:
        changed = False

    handler = _RECORD_HANDLERS.get(type(facts))
    if handler is None:  # an event kind that notifies nobody
        return Plan(contact, changed, [])
    return handler(facts, contact, changed)


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
