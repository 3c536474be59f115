"""What notification reads from each upstream event it reacts to: one frozen record per event
kind, with only the payload fields the rules use. The consumer adapter builds them from the
envelopes; the rules never see a protobuf message.

Enumerations arrive as their names without the protobuf prefix (`WHATSAPP`, `REGENCY`,
`ESCALATE`), timestamps as aware datetimes (None when the event has none).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias


@dataclass(frozen=True)
class Office:
    """An office as an event names it; either part may be empty."""

    code: str = ""
    name: str = ""

    @property
    def label(self) -> str:
        """What a message calls the office: its name, else its code."""
        return self.name or self.code


# -- intake -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintFiledFacts:
    ticket_number: str
    # The channel the complaint came by.
    channel: str = ""
    reporter_id: str = ""
    masked_contact: str = ""
    anonymous: bool = False
    language: str = ""


@dataclass(frozen=True)
class DetailsRequestedFacts:
    question: str
    province_code: str = ""
    # Regency codes offered (REGENCY); the page of the list shown.
    candidates: tuple[str, ...] = ()
    page: int = 1


@dataclass(frozen=True)
class ReporterMessageAddedFacts:
    channel: str = ""


@dataclass(frozen=True)
class StatusRequestedFacts:
    channel: str = ""


@dataclass(frozen=True)
class ComplaintWithdrawnFacts:
    pass


@dataclass(frozen=True)
class ResolutionRatedFacts:
    rating: int


@dataclass(frozen=True)
class ConversationReplyRequestedFacts:
    reply: str
    reporter_id: str = ""
    masked_contact: str = ""
    language: str = ""
    # UNKNOWN_TICKET: the ticket number the sender gave.
    ticket_number: str = ""
    # UNSUPPORTED_MESSAGE: the message type received.
    message_kind: str = ""
    # STATUS_OVERVIEW: the sender's open complaints, and their lines as this service knows them
    # (the application writes them from its complaint records before the rules run).
    complaint_ids: tuple[str, ...] = ()
    complaint_lines: str = ""


# -- routing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseRoutedFacts:
    to_office: Office
    accept_due: datetime | None = None


@dataclass(frozen=True)
class CaseReassignedFacts:
    to_office: Office
    # ESCALATE, TRANSFER, ...
    kind: str = ""
    from_office: Office = Office()
    accept_due: datetime | None = None


@dataclass(frozen=True)
class CaseAcceptedFacts:
    office: Office = Office()


@dataclass(frozen=True)
class ReporterAnsweredFacts:
    office: Office = Office()
    text: str = ""


@dataclass(frozen=True)
class CaseResolvedFacts:
    office: Office = Office()
    summary: str = ""
    auto_close_due: datetime | None = None


@dataclass(frozen=True)
class CaseReopenedFacts:
    by_reporter: bool = False
    reason: str = ""


@dataclass(frozen=True)
class CaseClosedFacts:
    pass


@dataclass(frozen=True)
class SlaBreachedFacts:
    sla: str = ""
    office: Office = Office()
    # The supervising office the breach escalated to, if any.
    escalated_to: Office = Office()
    due_at: datetime | None = None


@dataclass(frozen=True)
class PingPongFlaggedFacts:
    reassignment_count: int = 0
    returned_to: Office = Office()
    supervising_office: Office = Office()


NotificationFacts: TypeAlias = (
    ComplaintFiledFacts
    | DetailsRequestedFacts
    | ReporterMessageAddedFacts
    | StatusRequestedFacts
    | ComplaintWithdrawnFacts
    | ResolutionRatedFacts
    | ConversationReplyRequestedFacts
    | CaseRoutedFacts
    | CaseReassignedFacts
    | CaseAcceptedFacts
    | ReporterAnsweredFacts
    | CaseResolvedFacts
    | CaseReopenedFacts
    | CaseClosedFacts
    | SlaBreachedFacts
    | PingPongFlaggedFacts
)
"""The facts of any event kind notification reacts to."""
