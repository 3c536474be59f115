"""A filing as intake takes it: the request as an adapter hands it over, what validation makes of
it, the complaint it becomes and the answer. Pure domain: no transport.

Its own module so that validation and the application both use these types without importing
each other."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aduan.core.context import CommandContext
from aduan.reference.categories import Category
from aduan.reference.locations import Location
from aduan_intake.domain import (
    Attachment,
    Channel,
    Complaint,
    FilingDetails,
    LandParcel,
    ticket_number_for,
)
from aduan_intake.sealing import Identity, TextSealer

# Ticket numbers a filing tries, one after another, while the earlier ones are held by other
# complaints (a collision of the six characters).
TICKET_ATTEMPTS = 5


@dataclass(frozen=True)
class FilingRequest:
    idempotency_key: str
    channel: Channel | None  # None: not given (or not a known channel)
    description: str
    subject: str = ""
    category: Category | None = Category.UNCLASSIFIED  # None: not a known category
    location: Location = field(default_factory=Location)
    parcel: LandParcel = field(default_factory=LandParcel)
    attachments: Sequence[Attachment] = ()
    reporter_name: str = ""
    reporter_phone: str = ""
    reporter_email: str = ""
    reporter_nik: str = ""
    anonymous: bool = False
    confidential: bool = False
    language: str = "id"
    details: FilingDetails | None = None

    def __repr__(self) -> str:  # personal data stays out of tracebacks and logs
        return f"FilingRequest(channel={self.channel}, key={self.idempotency_key!r}, <redacted>)"


@dataclass(frozen=True)
class ValidFiling:
    idempotency_key: str
    channel: Channel
    description: str
    subject: str
    category: Category
    location: Location
    parcel: LandParcel
    attachments: tuple[Attachment, ...]
    identity: Identity | None  # None when anonymous
    anonymous: bool
    confidential: bool
    language: str
    # What intake found out itself and still asks (WhatsApp filings), recorded with the filing.
    details: FilingDetails | None = None


@dataclass(frozen=True)
class FilingResult:
    """The answer to a filing, alone or in a group; a repeat (created=False) names the complaint
    and the position of its first filing."""

    complaint_id: uuid.UUID
    ticket_number: str
    created: bool
    position: int
    # Anonymous filings, in the answer that created the complaint only (only its hash is kept).
    tracking_code: str = ""


def filing_year() -> int:
    """The year a ticket number filed now carries."""
    return datetime.now(UTC).year


def ticket_candidates(complaint_id: uuid.UUID) -> Iterator[str]:
    """The ticket numbers a complaint tries, in order, until one is not held by another."""
    for attempt in range(TICKET_ATTEMPTS):
        yield ticket_number_for(complaint_id, filing_year(), attempt)


def new_complaint(
    valid: ValidFiling,
    ctx: CommandContext,
    ticket: str,
    reporter_id: str,
    masked: str,
    texts: TextSealer,
) -> Complaint:
    """A new complaint from a validated filing (one at a time or in a group), with what intake
    learned about it and its first question to the reporter. Its subject and description are
    stored as their redacted copies and, sealed by `texts`, as written."""
    details = valid.details if valid.details is not None and valid.details.anything else None
    complaint = Complaint.file(
        ctx=ctx,
        channel=valid.channel,
        idempotency_key=valid.idempotency_key,
        ticket_number=ticket,
        reporter_id=reporter_id,
        masked_contact=masked,
        anonymous=valid.anonymous,
        confidential=valid.confidential,
        language=valid.language,
        category=valid.category,
        location=valid.location,
        parcel=valid.parcel,
        subject=valid.subject,
        description=valid.description,
        attachments=valid.attachments,
        texts=texts,
        details_pending=details is not None,
        details_due=details.due if details is not None else None,
    )
    if details is not None:
        complaint.learn(
            place=details.place,
            category=details.category,
            ask=details.ask,
            ctx=ctx,
            answer_due=details.due,
        )
    return complaint
