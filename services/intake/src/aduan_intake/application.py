"""The intake application: files complaints exactly once. Pure domain: no transport."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError

from aduan.context import CommandContext
from aduan.errors import ConcurrencyConflictError, NotFoundError
from aduan.store import AduanApplication
from aduan_intake.domain import Category, Channel, Complaint, ticket_number_for
from aduan_intake.validation import validate_filing

TICKET_NAMESPACE = uuid.UUID("0f9b3c62-8a51-4a8e-b6e4-0b0c7d2f6a93")


class TicketNumber(Aggregate):
    """Claims a ticket number: saved atomically with the complaint, so two complaints can never
    share one (the store's uniqueness constraint enforces it)."""

    @staticmethod
    def create_id(ticket_number: str) -> uuid.UUID:
        return uuid.uuid5(TICKET_NAMESPACE, ticket_number)

    @event("Claimed")
    def __init__(self, ticket_number: str, complaint_id: uuid.UUID) -> None:
        self.ticket_number = ticket_number
        self.complaint_id = complaint_id


@dataclass(frozen=True)
class FilingRequest:
    idempotency_key: str
    channel: Channel
    description: str
    subject: str = ""
    category: Category = Category.UNCLASSIFIED
    location: dict[str, str] = field(default_factory=dict)
    parcel: dict[str, str] = field(default_factory=dict)
    attachments: list[dict[str, str]] = field(default_factory=list)
    reporter_name: str = ""
    reporter_phone: str = ""
    reporter_email: str = ""
    reporter_nik: str = ""
    anonymous: bool = False
    confidential: bool = False
    language: str = "id"


@dataclass(frozen=True)
class FilingResult:
    complaint_id: uuid.UUID
    ticket_number: str
    created: bool
    position: int


class IntakeApplication(AduanApplication):
    name = "intake"

    def file_complaint(self, request: FilingRequest, ctx: CommandContext) -> FilingResult:
        valid = validate_filing(request)
        complaint_id = Complaint.create_id(valid.channel, valid.idempotency_key)
        existing = self._find(complaint_id)
        if existing is not None:
            return FilingResult(complaint_id, existing.ticket_number, False, self.head_position())
        for attempt in range(5):
            ticket = ticket_number_for(complaint_id, ctx_year(), attempt)
            complaint = Complaint.file(
                ctx=ctx,
                channel=valid.channel,
                idempotency_key=valid.idempotency_key,
                ticket_number=ticket,
                reporter_id="",
                masked_contact=valid.masked_contact,
                anonymous=valid.anonymous,
                confidential=valid.confidential,
                language=valid.language,
                category=valid.category,
                location=valid.location,
                parcel=valid.parcel,
                subject=valid.subject,
                description=valid.description,
                attachments=valid.attachments,
            )
            claim = TicketNumber(ticket_number=ticket, complaint_id=complaint_id)
            try:
                recordings = self.save(complaint, claim)
            except IntegrityError:
                existing = self._find(complaint_id)
                if existing is not None:  # a concurrent duplicate won
                    return FilingResult(complaint_id, existing.ticket_number, False, self.head_position())
                continue  # ticket collision: pick the next candidate
            return FilingResult(complaint_id, ticket, True, recordings[-1].notification.id)
        raise ConcurrencyConflictError("could not allocate a unique ticket number; retry")

    def get_complaint(self, complaint_ref: str) -> Complaint:
        complaint_id = self.resolve(complaint_ref)
        complaint = self._find(complaint_id)
        if complaint is None:
            raise NotFoundError(f"complaint {complaint_ref!r} not found")
        return complaint

    def resolve(self, complaint_ref: str) -> uuid.UUID:
        """A complaint id, or a ticket number, to the complaint id."""
        ref = complaint_ref.strip()
        try:
            return uuid.UUID(ref)
        except ValueError:
            pass
        try:
            claim: Any = self.repository.get(TicketNumber.create_id(ref.upper()))
        except Exception:
            raise NotFoundError(f"complaint {complaint_ref!r} not found") from None
        return uuid.UUID(str(claim.complaint_id))

    def _find(self, complaint_id: uuid.UUID) -> Complaint | None:
        try:
            complaint: Complaint = self.repository.get(complaint_id)
        except Exception as error:
            if type(error).__name__ == "AggregateNotFoundError":
                return None
            raise
        return complaint


def ctx_year() -> int:
    from datetime import UTC, datetime

    return datetime.now(UTC).year
