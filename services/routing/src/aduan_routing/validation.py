"""Checks of the officers' requests, in the order documented in application.py and
docs/routing.md: the request itself (check 1: every violation reported at once, before the case
is loaded) and whether it fits the case (check 5, after the status check). Nothing is stored when
a check fails. Transport-free.
"""

from __future__ import annotations

from aduan.core.errors import FieldViolation, ValidationError
from aduan.core.redaction import redact
from aduan.reference.areas import AreaRegistry
from aduan.reference.categories import Category
from aduan.reference.locations import Location
from aduan.reference.offices import OfficeRegistry
from aduan_routing.domain import SYSTEM_REASONS, ReasonCode, ReassignmentKind, Scope

MAX_TEXT = 4000
# REROUTE is left out: only the routing rules re-route, after a classification.
OFFICER_KINDS = (
    ReassignmentKind.ESCALATE,
    ReassignmentKind.DELEGATE,
    ReassignmentKind.TRANSFER,
    ReassignmentKind.RETURN_TO_TRIAGE,
)


def required_text(name: str, value: str) -> str:
    """`value` as recorded (stripped, then redacted: see `recorded_text`); raises ValidationError
    when it is blank or too long."""
    if not value.strip():
        raise ValidationError(FieldViolation(name, "required"))
    limited_text(name, value)
    return recorded_text(value.strip())


def recorded_text(value: str) -> str:
    """An officer's free text as routing records and sends it: with NIKs, phone numbers, e-mail
    addresses and account numbers masked (docs/security.md, "Free text: sealed, and a redacted
    copy"). What the citizen receives is this copy; no unredacted copy is kept anywhere."""
    return redact(value).text


def limited_text(name: str, value: str) -> None:
    if len(value) > MAX_TEXT:
        raise ValidationError(FieldViolation(name, f"at most {MAX_TEXT} characters"))


def valid_location(location: Location, areas: AreaRegistry) -> Location | None:
    """The location as stored (codes and address stripped, the province filled in from the
    regency), or None when it names nothing; raises ValidationError with every violation."""
    province = location.province_code.strip()
    regency = location.regency_code.strip()
    address = location.address.strip()
    if not (province or regency or address):
        return None
    violations: list[FieldViolation] = []
    if regency:
        found = areas.regencies.get(regency)
        if found is None:
            violations.append(
                FieldViolation("location.regency_code", f"unknown regency {regency!r}")
            )
        elif province and province != found.province_code:
            violations.append(
                FieldViolation(
                    "location.regency_code",
                    f"{regency} is in province {found.province_code}, not {province}",
                )
            )
        else:
            province = found.province_code
    if province and province not in areas.provinces:
        violations.append(
            FieldViolation("location.province_code", f"unknown province {province!r}")
        )
    if len(address) > MAX_TEXT:
        violations.append(FieldViolation("location.address", f"at most {MAX_TEXT} characters"))
    if violations:
        raise ValidationError(violations)
    return Location(province_code=province, regency_code=regency, address=address)


def valid_classification(
    category: Category | None,
    scope: Scope | None,
    location: Location | None,
    note: str,
    areas: AreaRegistry,
) -> Location | None:
    """The classification's location as stored (None: unchanged); raises ValidationError when
    the request is malformed or changes nothing at all."""
    stored_location = valid_location(location, areas) if location is not None else None
    limited_text("note", note)
    if category is None and scope is None and stored_location is None:
        raise ValidationError(
            FieldViolation("", "give a category, a scope or a location to classify")
        )
    return stored_location


def valid_reassignment(
    kind: ReassignmentKind,
    to_office: str,
    reason_code: ReasonCode | None,
    note: str,
    registry: OfficeRegistry,
) -> tuple[str, ReasonCode]:
    """The target office (the triage desk for a RETURN_TO_TRIAGE that names none) and the reason
    of an officer's reassignment; raises ValidationError with every violation."""
    to_office = to_office.strip()
    violations: list[FieldViolation] = []
    if kind not in OFFICER_KINDS:
        violations.append(
            FieldViolation(
                "kind",
                "must be ESCALATE, DELEGATE, TRANSFER or RETURN_TO_TRIAGE "
                "(REROUTE is done by the routing rules after a classification)",
            )
        )
    if kind is ReassignmentKind.RETURN_TO_TRIAGE and not to_office:
        to_office = registry.triage_code
    if reason_code is None:
        violations.append(FieldViolation("reason_code", "required"))
    elif reason_code in SYSTEM_REASONS:
        violations.append(
            FieldViolation("reason_code", f"{reason_code.value} is set by the system only")
        )
    if not to_office:
        violations.append(FieldViolation("to_office_code", "required"))
    elif to_office not in registry:
        violations.append(FieldViolation("to_office_code", f"unknown office {to_office!r}"))
    if len(note) > MAX_TEXT:
        violations.append(FieldViolation("note", f"at most {MAX_TEXT} characters"))
    if violations or reason_code is None:  # a missing reason is among the violations
        raise ValidationError(violations)
    return to_office, reason_code


def require_direction(
    registry: OfficeRegistry, kind: ReassignmentKind, holder: str, to_office: str
) -> None:
    """Raises ValidationError unless the target is another office in the kind's direction from
    the holder: ESCALATE above it, DELEGATE below it, TRANSFER at its level, RETURN_TO_TRIAGE the
    triage desk."""
    if to_office == holder:
        raise ValidationError(
            FieldViolation("to_office_code", f"the case is already held by {to_office}")
        )
    # The direction rule is the registry's, shared with the desk's office picker.
    if not registry.in_direction(kind.value, holder, to_office):
        rule = {
            ReassignmentKind.ESCALATE: "an office above the holder",
            ReassignmentKind.DELEGATE: "an office below the holder",
            ReassignmentKind.TRANSFER: "an office of the holder's level",
            ReassignmentKind.RETURN_TO_TRIAGE: f"the triage desk {registry.triage_code}",
        }[kind]
        raise ValidationError(
            FieldViolation(
                "to_office_code",
                f"{kind.value} must target {rule}; {to_office} is not one for {holder}",
            )
        )
