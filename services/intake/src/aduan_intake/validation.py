"""Validation of filings: every violation is reported at once, and nothing is stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aduan.errors import FieldViolation, ValidationError
from aduan_intake.domain import Category, Channel

if TYPE_CHECKING:
    from aduan_intake.application import FilingRequest

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class ValidFiling:
    idempotency_key: str
    channel: Channel
    description: str
    subject: str
    category: Category
    location: dict[str, str]
    parcel: dict[str, str]
    attachments: list[dict[str, str]]
    masked_contact: str
    anonymous: bool
    confidential: bool
    language: str


def validate_filing(request: FilingRequest) -> ValidFiling:
    violations: list[FieldViolation] = []
    key = request.idempotency_key.strip()
    if not key:
        violations.append(FieldViolation("idempotency_key", "required"))
    elif len(key) > MAX_KEY_LENGTH:
        violations.append(FieldViolation("idempotency_key", f"at most {MAX_KEY_LENGTH} characters"))
    description = request.description.strip()
    if not 10 <= len(description) <= 5000:
        violations.append(FieldViolation("description", "must be 10 to 5,000 characters"))
    subject = request.subject.strip()
    if len(subject) > 200:
        violations.append(FieldViolation("subject", "at most 200 characters"))
    if violations:
        raise ValidationError(violations)
    return ValidFiling(
        idempotency_key=key,
        channel=request.channel,
        description=description,
        subject=subject,
        category=request.category,
        location=dict(request.location),
        parcel=dict(request.parcel),
        attachments=list(request.attachments),
        masked_contact="",
        anonymous=request.anonymous,
        confidential=request.confidential,
        language=request.language or "id",
    )
