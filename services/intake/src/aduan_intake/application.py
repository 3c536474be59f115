"""The intake application: files complaints exactly once. Pure domain: no transport."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from eventsourcing.persistence import IntegrityError

from aduan.context import CommandContext
from aduan.errors import ConcurrencyConflictError, NotFoundError
from aduan.store import AduanApplication
from aduan_intake.domain import Category, Channel, Complaint, ticket_number_for
from aduan_intake.validation import validate_filing

TICKETS = "ticket"


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
            if self.claims.claim(TICKETS, ticket, str(complaint_id)) != str(complaint_id):
                continue  # held by another complaint: pick the next candidate
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
            try:
                recordings = self.save(complaint)
            except IntegrityError:
                existing = self._find(complaint_id)
                if existing is None:
                    raise
                # A concurrent duplicate won.
                return FilingResult(complaint_id, existing.ticket_number, False, self.head_position())
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
        holder = self.claims.get(TICKETS, ref.upper())
        if holder is None:
            raise NotFoundError(f"complaint {complaint_ref!r} not found")
        return uuid.UUID(holder)

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
