"""Validation of filings and reporter actions: every violation is reported at once, with the
field it concerns (proto field paths, e.g. `reporter.phone`), and nothing is stored.

The rules are documented in docs/intake.md; keep both in step.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from aduan.core.errors import FieldViolation, ValidationError
from aduan.reference.areas import area_registry
from aduan.reference.locations import Location
from aduan_intake.domain import Attachment, Channel, LandParcel
from aduan_intake.filing import FilingRequest, ValidFiling
from aduan_intake.reveals import DEFAULT_PURPOSE, RevealPurpose
from aduan_intake.sealing import Identity

MAX_KEY_LENGTH = 200
MIN_DESCRIPTION = 10
MAX_DESCRIPTION = 5000
MAX_SUBJECT = 200
MAX_NAME = 200
MAX_ADDRESS = 500
MAX_EMAIL = 254
MAX_ATTACHMENTS = 20
MAX_URI = 2000
MAX_CAPTION = 1000
MAX_MESSAGE_TEXT = 5000
MAX_REASON = 2000
MAX_PURPOSE = 200
LANGUAGES = ("id", "en")

_PHONE_SEPARATORS = re.compile(r"[\s\-.()/]")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
# After +62: a national significant number of 8 to 12 digits that starts with 2-9
# (mobile numbers start with 8 and have at least 9 digits).
_INDONESIAN_NSN = re.compile(r"^(?:8\d{8,11}|[2-79]\d{7,11})$")
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_NIK = re.compile(r"^\d{16}$")
_NIB = re.compile(r"^\d{14}$")
# Nomor hak on a land certificate: province.regency.district.village.right-type.serial,
# e.g. 32.73.05.01.1.00123 (right type 1 hak milik, 2 HGU, 3 HGB, 4 hak pakai, ...).
_CERTIFICATE = re.compile(
    r"^(\d{2})[.\s]?(\d{2})[.\s]?(\d{2})[.\s]?(\d{2})[.\s]?([1-9])[.\s]?(\d{5})$"
)
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TICKET = re.compile(r"^ADU-\d{4}-[2-9A-HJ-NP-Z]{6}$")


def normalise_phone(raw: str) -> str | None:
    """An Indonesian number (08..., 628..., +628..., also landlines 021...) or any E.164 number,
    as E.164; None when it is not a phone number."""
    phone = _PHONE_SEPARATORS.sub("", raw.strip())
    if phone.startswith("+"):
        pass
    elif phone.startswith("62"):
        phone = "+" + phone
    elif phone.startswith("0") and not phone.startswith("00"):
        phone = "+62" + phone[1:]
    else:
        return None
    if not _E164.match(phone):
        return None
    if phone.startswith("+62") and not _INDONESIAN_NSN.match(phone[3:]):
        return None
    return phone


def normalise_certificate_number(raw: str) -> str | None:
    match = _CERTIFICATE.match(raw.strip())
    return None if match is None else ".".join(match.groups())


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in text)


class Violations:
    """Collects field violations; `raise_if_any()` raises them all in one ValidationError."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.items.append(FieldViolation(field, description))

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationError(self.items)


def check_key(violations: Violations, key: str, field: str = "idempotency_key") -> str:
    key = key.strip()
    if not key:
        violations.add(field, "required")
    elif len(key) > MAX_KEY_LENGTH:
        violations.add(field, f"at most {MAX_KEY_LENGTH} characters")
    elif _has_control_characters(key) or any(c.isspace() for c in key):
        violations.add(field, "must not contain spaces or control characters")
    return key


def check_text(
    violations: Violations, field: str, text: str, *, minimum: int = 0, maximum: int
) -> str:
    text = text.strip()
    if len(text) < minimum or len(text) > maximum:
        if minimum:
            violations.add(field, f"must be {minimum} to {maximum:,} characters (got {len(text)})")
        else:
            violations.add(field, f"at most {maximum:,} characters (got {len(text)})")
    elif _has_control_characters(text):
        violations.add(field, "must not contain control characters")
    return text


def check_attachments(
    violations: Violations, attachments: Sequence[Attachment], field: str = "attachments"
) -> tuple[Attachment, ...]:
    if len(attachments) > MAX_ATTACHMENTS:
        violations.add(field, f"at most {MAX_ATTACHMENTS} attachments")
    cleaned = []
    for index, attachment in enumerate(attachments):
        path = f"{field}[{index}]"
        uri = attachment.uri.strip()
        media_type = attachment.media_type.strip().lower()
        sha256 = attachment.sha256.strip().lower()
        caption = attachment.caption.strip()
        if not uri:
            violations.add(f"{path}.uri", "required: a reference to the stored media")
        elif len(uri) > MAX_URI or any(c.isspace() for c in uri):
            violations.add(
                f"{path}.uri", f"a reference without spaces, at most {MAX_URI} characters"
            )
        if media_type and not _MEDIA_TYPE.match(media_type):
            violations.add(f"{path}.media_type", "must be a media type such as image/jpeg")
        if sha256 and not _SHA256.match(sha256):
            violations.add(f"{path}.sha256", "must be 64 hexadecimal digits")
        if len(caption) > MAX_CAPTION:
            violations.add(f"{path}.caption", f"at most {MAX_CAPTION:,} characters")
        cleaned.append(Attachment(uri=uri, media_type=media_type, sha256=sha256, caption=caption))
    return tuple(cleaned)


def check_language(violations: Violations, language: str, field: str) -> str:
    language = (language or "id").strip().lower()
    if language not in LANGUAGES:
        violations.add(field, "must be id or en")
    return language


def _check_location(violations: Violations, location: Location) -> Location:
    registry = area_registry()
    province = location.province_code.strip()
    regency = location.regency_code.strip()
    address = check_text(violations, "location.address", location.address, maximum=MAX_ADDRESS)
    if province and province not in registry.provinces:
        violations.add("location.province_code", f"unknown province code {province!r}")
    if regency:
        found = registry.regencies.get(regency)
        if found is None:
            violations.add("location.regency_code", f"unknown regency code {regency!r}")
        elif province and found.province_code != province:
            violations.add(
                "location.regency_code",
                f"regency {regency} is in province {found.province_code}, not {province}",
            )
        elif not province:
            province = found.province_code  # implied by the regency
    return Location(province_code=province, regency_code=regency, address=address)


def _check_parcel(violations: Violations, parcel: LandParcel) -> LandParcel:
    nib = re.sub(r"[\s.]", "", parcel.nib)
    certificate = parcel.certificate_number.strip()
    if nib and not _NIB.match(nib):
        violations.add("parcel.nib", "NIB must be 14 digits")
    if certificate:
        normalised = normalise_certificate_number(certificate)
        if normalised is None:
            violations.add(
                "parcel.certificate_number",
                "must be the 14-digit nomor hak PP.KK.CC.DD.T.NNNNN, e.g. 32.73.05.01.1.00123",
            )
        else:
            certificate = normalised
    return LandParcel(nib=nib, certificate_number=certificate)


def check_identity(
    violations: Violations, request: FilingRequest, language: str
) -> Identity | None:
    raw = {
        "name": request.reporter_name.strip(),
        "phone": request.reporter_phone.strip(),
        "email": request.reporter_email.strip(),
        "nik": request.reporter_nik.strip(),
    }
    if request.anonymous:
        for name, value in raw.items():
            if value:
                violations.add(f"reporter.{name}", "must be empty for an anonymous complaint")
        return None
    name = check_text(violations, "reporter.name", raw["name"], maximum=MAX_NAME)
    phone = ""
    if raw["phone"]:
        normalised = normalise_phone(raw["phone"])
        if normalised is None:
            violations.add(
                "reporter.phone",
                "must be an Indonesian number (08..., 628..., +628...) or E.164 (+<country>...)",
            )
        else:
            phone = normalised
    email = ""
    if raw["email"]:
        if len(raw["email"]) > MAX_EMAIL or not _EMAIL.match(raw["email"]):
            violations.add("reporter.email", "must be an email address such as nama@example.id")
        else:
            local, _, domain = raw["email"].rpartition("@")
            email = f"{local}@{domain.lower()}"
    if not raw["phone"] and not raw["email"]:
        violations.add(
            "reporter", "a phone number or an email is required unless the complaint is anonymous"
        )
    nik = raw["nik"]
    if nik:
        if not _NIK.match(nik):
            violations.add("reporter.nik", "NIK must be 16 digits")
        elif nik[:2] not in area_registry().provinces:
            violations.add("reporter.nik", "NIK must start with a province code")
    return Identity(name=name, phone=phone, email=email, nik=nik, language=language)


def validate_filing(request: FilingRequest) -> ValidFiling:
    violations = Violations()
    key = check_key(violations, request.idempotency_key)
    if request.channel is None:
        violations.add("channel", "required: one of " + ", ".join(c.value for c in Channel))
    if request.category is None:
        violations.add("category", "unknown category")
    description = check_text(
        violations,
        "description",
        request.description,
        minimum=MIN_DESCRIPTION,
        maximum=MAX_DESCRIPTION,
    )
    subject = check_text(violations, "subject", request.subject, maximum=MAX_SUBJECT)
    location = _check_location(violations, request.location)
    parcel = _check_parcel(violations, request.parcel)
    attachments = check_attachments(violations, request.attachments)
    language = check_language(violations, request.language, "reporter.language")
    identity = check_identity(violations, request, language)
    violations.raise_if_any()
    assert request.channel is not None
    assert request.category is not None
    return ValidFiling(
        idempotency_key=key,
        channel=request.channel,
        description=description,
        subject=subject,
        category=request.category,
        location=location,
        parcel=parcel,
        attachments=attachments,
        identity=identity,
        anonymous=request.anonymous,
        confidential=request.confidential,
        language=language,
        details=request.details,
    )


@dataclass(frozen=True)
class ValidMessage:
    idempotency_key: str
    channel: Channel
    text: str
    attachments: tuple[Attachment, ...]


def validate_message(
    idempotency_key: str, channel: Channel | None, text: str, attachments: Sequence[Attachment]
) -> ValidMessage:
    """A reporter's follow-up message."""
    violations = Violations()
    key = check_key(violations, idempotency_key)
    if channel is None:
        violations.add("channel", "required")
    text = check_text(violations, "text", text, maximum=MAX_MESSAGE_TEXT)
    cleaned = check_attachments(violations, attachments)
    if not text and not attachments:
        violations.add("text", "a message needs text or an attachment")
    violations.raise_if_any()
    assert channel is not None
    return ValidMessage(key, channel, text, cleaned)


def validate_withdrawal(reason: str) -> str:
    """The reason given for withdrawing a complaint."""
    violations = Violations()
    reason = check_text(violations, "reason", reason, maximum=MAX_REASON)
    violations.raise_if_any()
    return reason


def validate_rating(rating: int, comment: str) -> str:
    """The comment on a rating of 1 to 5."""
    violations = Violations()
    if not 1 <= rating <= 5:
        violations.add("rating", "must be 1 to 5")
    comment = check_text(violations, "comment", comment, maximum=MAX_REASON)
    violations.raise_if_any()
    return comment


def validate_status_request(channel: Channel | None, idempotency_key: str) -> tuple[Channel, str]:
    """The channel and idempotency key of a status request."""
    violations = Violations()
    if channel is None:
        violations.add("channel", "required")
    # Without a key every call is a new request.
    key = check_key(violations, idempotency_key or f"auto:{uuid.uuid4()}")
    violations.raise_if_any()
    assert channel is not None
    return channel, key


def validate_reveal_purpose(purpose: str) -> str:
    """Why a reporter's contact is revealed: required, and recorded with the reveal."""
    return validate_reveal(purpose, DEFAULT_PURPOSE)[0]


def validate_reveal(
    purpose: str, reveal_purpose: RevealPurpose | None
) -> tuple[str, RevealPurpose]:
    """The caller's reason and the purpose kind of a reveal; None is a kind this intake does not
    know (a newer caller's), refused rather than guessed."""
    violations = Violations()
    purpose = check_text(violations, "purpose", purpose, maximum=MAX_PURPOSE)
    if not purpose:
        violations.add("purpose", "required: why the contact is needed")
    if reveal_purpose is None:
        violations.add("reveal_purpose", "unknown purpose")
    violations.raise_if_any()
    assert reveal_purpose is not None
    return purpose, reveal_purpose


def validate_erasure(reporter_id: str, reason: str) -> tuple[str, str]:
    """The reporter to erase and why: both required."""
    violations = Violations()
    reporter_id = reporter_id.strip()
    if not reporter_id:
        violations.add("reporter_id", "required")
    reason = check_text(violations, "reason", reason, maximum=MAX_REASON)
    if not reason:
        violations.add("reason", "required: why the identity is erased")
    violations.raise_if_any()
    return reporter_id, reason


def looks_like_ticket(text: str) -> bool:
    return bool(_TICKET.match(text.strip().upper()))
