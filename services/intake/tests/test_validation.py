"""Validation of filings: the documented rules, every violation at once, nothing stored."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aduan.core.context import CommandContext
from aduan.core.errors import ValidationError
from aduan.reference.categories import Category
from aduan.reference.locations import Location
from aduan_intake.application import IntakeApplication
from aduan_intake.domain import Attachment, Channel, LandParcel
from aduan_intake.filing import FilingRequest
from aduan_intake.validation import (
    normalise_certificate_number,
    normalise_phone,
    validate_erasure,
    validate_filing,
    validate_message,
    validate_rating,
    validate_reveal_purpose,
    validate_status_request,
    validate_withdrawal,
)

Filing = Callable[..., FilingRequest]


def violated_fields(request: FilingRequest) -> set[str]:
    with pytest.raises(ValidationError) as raised:
        validate_filing(request)
    return {v.field for v in raised.value.violations}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("081234567890", "+6281234567890"),
        ("0812-3456-7890", "+6281234567890"),
        ("0812 3456 789", "+628123456789"),
        ("6281234567890", "+6281234567890"),
        ("+6281234567890", "+6281234567890"),
        ("+62 812 3456 7890", "+6281234567890"),
        ("(021) 5551234", "+62215551234"),
        ("+60123456789", "+60123456789"),  # a Malaysian number (migrant workers) stays E.164
    ],
)
def test_phone_numbers_are_normalised_to_e164(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["12345", "0812", "+62 0812 3456 7890", "62123", "0812345678901234", "call me", "+", ""],
)
def test_malformed_phone_numbers_are_rejected(raw: str) -> None:
    assert normalise_phone(raw) is None


def test_a_valid_filing_is_normalised(filing: Filing) -> None:
    valid = validate_filing(
        filing(
            reporter_phone="0812 3456 7890",
            reporter_email="Budi@Example.ID",
            reporter_nik="3273012345670001",
            location=Location(regency_code="32.73"),
            parcel=LandParcel(nib="10.080.50.30.12345", certificate_number="32.73.05.01.1.00123"),
            category=Category.LAND_SERVICE,
            subject="  Pengukuran  ",
        )
    )
    assert valid.identity is not None
    assert valid.identity.phone == "+6281234567890"
    assert valid.identity.email == "Budi@example.id"
    assert valid.location.province_code == "32"  # implied by the regency
    assert valid.parcel.nib == "10080503012345"
    assert valid.subject == "Pengukuran"


def test_every_violation_is_reported_at_once(filing: Filing) -> None:
    fields = violated_fields(
        filing(
            idempotency_key="",
            channel=None,
            category=None,
            description="short",
            subject="x" * 201,
            reporter_phone="12345",
            reporter_email="not-an-email",
            reporter_nik="1234",
            location=Location(province_code="99", regency_code="32.99"),
            parcel=LandParcel(nib="123", certificate_number="ABC-1"),
            attachments=[Attachment(uri="", media_type="jpeg", sha256="zz")],
            language="fr",
        )
    )
    assert fields == {
        "idempotency_key",
        "channel",
        "category",
        "description",
        "subject",
        "reporter.phone",
        "reporter.email",
        "reporter.nik",
        "reporter.language",
        "location.province_code",
        "location.regency_code",
        "parcel.nib",
        "parcel.certificate_number",
        "attachments[0].uri",
        "attachments[0].media_type",
        "attachments[0].sha256",
    }


@pytest.mark.parametrize(
    ("location", "field"),
    [
        (Location(province_code="31", regency_code="32.73"), "location.regency_code"),  # mismatch
        (Location(province_code="3"), "location.province_code"),
        (Location(regency_code="3273"), "location.regency_code"),
    ],
)
def test_province_and_regency_must_exist_and_agree(
    filing: Filing, location: Location, field: str
) -> None:
    assert violated_fields(filing(location=location)) == {field}


def test_description_length_bounds(filing: Filing) -> None:
    assert violated_fields(filing(description="x" * 9)) == {"description"}
    assert violated_fields(filing(description="x" * 5001)) == {"description"}
    validate_filing(filing(description="x" * 10))
    validate_filing(filing(description="x" * 5000))


def test_a_reporter_needs_a_phone_or_an_email_unless_anonymous(filing: Filing) -> None:
    assert violated_fields(filing(reporter_phone="")) == {"reporter"}
    validate_filing(filing(reporter_phone="", reporter_email="siti@example.id"))
    anonymous = validate_filing(filing(reporter_phone="", reporter_name="", anonymous=True))
    assert anonymous.identity is None


def test_an_anonymous_filing_must_not_carry_an_identity(filing: Filing) -> None:
    assert violated_fields(filing(anonymous=True, reporter_nik="3273012345670001")) == {
        "reporter.name",
        "reporter.phone",
        "reporter.nik",
    }


@pytest.mark.parametrize(
    ("nik", "ok"),
    [
        ("3273012345670001", True),
        ("9901012345670001", False),  # 99 is not a province
        ("327301234567000", False),
        ("327301234567000A", False),
    ],
)
def test_nik_is_16_digits_starting_with_a_province(filing: Filing, nik: str, ok: bool) -> None:
    if ok:
        validate_filing(filing(reporter_nik=nik))
    else:
        assert violated_fields(filing(reporter_nik=nik)) == {"reporter.nik"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("32.73.05.01.1.00123", "32.73.05.01.1.00123"),
        ("32 73 05 01 1 00123", "32.73.05.01.1.00123"),
        ("32730501100123", "32.73.05.01.1.00123"),
        ("32.73.05.01.0.00123", None),  # right type 0 does not exist
        ("32.73.05.1.1.00123", None),
        ("M.123/2001", None),
    ],
)
def test_certificate_numbers(raw: str, expected: str | None) -> None:
    assert normalise_certificate_number(raw) == expected


def test_nothing_is_stored_for_an_invalid_filing(
    app: IntakeApplication, filing: Filing, ctx: CommandContext
) -> None:
    with pytest.raises(ValidationError):
        app.file_complaint(filing(description="short", reporter_nik="1"), ctx)
    assert app.head_position() == 0
    assert app.claims.get("ticket", "anything") is None


def reported(check: Callable[[], object]) -> set[str]:
    with pytest.raises(ValidationError) as raised:
        check()
    return {v.field for v in raised.value.violations}


def test_reporter_actions_are_validated_with_every_field_named() -> None:
    assert reported(lambda: validate_message(" ", None, "", [])) == {
        "idempotency_key",
        "channel",
        "text",
    }
    digest = "AB" * 32
    message = validate_message(
        " k ", Channel.WEB, "  halo  ", [Attachment(uri=" u ", sha256=digest)]
    )
    assert (message.idempotency_key, message.text) == ("k", "halo")
    assert message.attachments == (
        Attachment(uri="u", media_type="", sha256=digest.lower(), caption=""),
    )
    assert reported(lambda: validate_withdrawal("x" * 2001)) == {"reason"}
    assert reported(lambda: validate_rating(6, "")) == {"rating"}
    assert validate_rating(5, " baik ") == "baik"
    assert reported(lambda: validate_status_request(None, "k")) == {"channel"}
    channel, key = validate_status_request(Channel.WHATSAPP, "")
    assert channel is Channel.WHATSAPP
    assert key.startswith("auto:")  # without a key, every call is a new request
    assert reported(lambda: validate_reveal_purpose("  ")) == {"purpose"}
    assert reported(lambda: validate_erasure(" ", "")) == {"reporter_id", "reason"}
    assert validate_erasure(" r1 ", " diminta ") == ("r1", "diminta")
