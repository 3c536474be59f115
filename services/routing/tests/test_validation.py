"""The officers' request checks (validation.py), with the exact messages callers see."""

from __future__ import annotations

import pytest

from aduan.core.errors import ValidationError
from aduan.reference.categories import Category
from aduan.reference.locations import Location
from aduan.reference.offices import OfficeRegistry, default_registry
from aduan_routing.domain import ReasonCode, ReassignmentKind, Scope
from aduan_routing.validation import (
    MAX_TEXT,
    require_direction,
    required_text,
    valid_classification,
    valid_location,
    valid_reassignment,
)

REGISTRY = default_registry()


def violations(error: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str, str]]:
    return [(v.field, v.description) for v in error.value.violations]


def test_required_text_is_stripped_and_bounded() -> None:
    assert required_text("text", "  hello ") == "hello"
    with pytest.raises(ValidationError) as blank:
        required_text("text", "   ")
    assert violations(blank) == [("text", "required")]
    with pytest.raises(ValidationError) as long:
        required_text("summary", "x" * (MAX_TEXT + 1))
    assert violations(long) == [("summary", f"at most {MAX_TEXT} characters")]


def test_a_location_is_stored_with_the_province_of_its_regency() -> None:
    areas = REGISTRY.areas
    assert valid_location(Location(regency_code=" 32.73 ", address=" Jl. A "), areas) == Location(
        province_code="32", regency_code="32.73", address="Jl. A"
    )
    assert valid_location(Location(province_code=" ", address=""), areas) is None


def test_every_location_violation_is_reported_at_once() -> None:
    areas = REGISTRY.areas
    with pytest.raises(ValidationError) as mismatch:
        valid_location(Location(province_code="33", regency_code="32.73"), areas)
    assert violations(mismatch) == [
        ("location.regency_code", "32.73 is in province 32, not 33"),
    ]
    with pytest.raises(ValidationError) as unknown:
        valid_location(
            Location(province_code="00", regency_code="99.99", address="x" * (MAX_TEXT + 1)),
            areas,
        )
    assert violations(unknown) == [
        ("location.regency_code", "unknown regency '99.99'"),
        ("location.province_code", "unknown province '00'"),
        ("location.address", f"at most {MAX_TEXT} characters"),
    ]


def test_a_classification_must_change_something() -> None:
    areas = REGISTRY.areas
    with pytest.raises(ValidationError) as nothing:
        valid_classification(None, None, Location(province_code=""), "note", areas)
    assert violations(nothing) == [("", "give a category, a scope or a location to classify")]
    assert valid_classification(Category.LAND_SERVICE, None, None, "", areas) is None
    assert valid_classification(
        None, Scope.LOCAL, Location(regency_code="32.73"), "", areas
    ) == Location(province_code="32", regency_code="32.73")


def test_a_return_to_triage_without_a_target_goes_to_the_triage_desk() -> None:
    assert valid_reassignment(
        ReassignmentKind.RETURN_TO_TRIAGE, " ", ReasonCode.OTHER, "", REGISTRY
    ) == (REGISTRY.triage_code, ReasonCode.OTHER)
    assert valid_reassignment(
        ReassignmentKind.ESCALATE, " KANWIL.32 ", ReasonCode.WIDE_IMPACT, "", REGISTRY
    ) == ("KANWIL.32", ReasonCode.WIDE_IMPACT)


def test_every_reassignment_violation_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as error:
        valid_reassignment(
            ReassignmentKind.REROUTE, "NOWHERE.1", ReasonCode.SLA_BREACH, "x" * 4001, REGISTRY
        )
    assert violations(error) == [
        (
            "kind",
            "must be ESCALATE, DELEGATE, TRANSFER or RETURN_TO_TRIAGE "
            "(REROUTE is done by the routing rules after a classification)",
        ),
        ("reason_code", "SLA_BREACH is set by the system only"),
        ("to_office_code", "unknown office 'NOWHERE.1'"),
        ("note", f"at most {MAX_TEXT} characters"),
    ]
    with pytest.raises(ValidationError) as missing:
        valid_reassignment(ReassignmentKind.ESCALATE, "", None, "", REGISTRY)
    assert violations(missing) == [
        ("reason_code", "required"),
        ("to_office_code", "required"),
    ]


@pytest.mark.parametrize(
    ("kind", "holder", "to_office"),
    [
        (ReassignmentKind.ESCALATE, "KANTAH.32.73", "KANWIL.32"),
        (ReassignmentKind.ESCALATE, "KANTAH.32.73", "PUSAT.IP3"),
        (ReassignmentKind.DELEGATE, "KANWIL.32", "KANTAH.32.73"),
        (ReassignmentKind.TRANSFER, "KANTAH.32.73", "KANTAH.32.01"),
        (ReassignmentKind.RETURN_TO_TRIAGE, "KANWIL.32", "PUSAT.IP3"),
    ],
)
def test_a_target_in_the_kinds_direction_passes(
    kind: ReassignmentKind, holder: str, to_office: str
) -> None:
    require_direction(REGISTRY, kind, holder, to_office)


@pytest.mark.parametrize(
    ("kind", "holder", "to_office", "message"),
    [
        (
            ReassignmentKind.ESCALATE,
            "KANWIL.32",
            "KANTAH.32.73",
            "ESCALATE must target an office above the holder; KANTAH.32.73 is not one for "
            "KANWIL.32",
        ),
        (
            ReassignmentKind.DELEGATE,
            "KANTAH.32.73",
            "KANWIL.32",
            "DELEGATE must target an office below the holder; KANWIL.32 is not one for "
            "KANTAH.32.73",
        ),
        (
            ReassignmentKind.TRANSFER,
            "KANTAH.32.73",
            "KANWIL.32",
            "TRANSFER must target an office of the holder's level; KANWIL.32 is not one for "
            "KANTAH.32.73",
        ),
        (
            ReassignmentKind.RETURN_TO_TRIAGE,
            "KANTAH.32.73",
            "KANWIL.32",
            "RETURN_TO_TRIAGE must target the triage desk PUSAT.IP3; KANWIL.32 is not one for "
            "KANTAH.32.73",
        ),
        (
            ReassignmentKind.TRANSFER,
            "KANTAH.32.73",
            "KANTAH.32.73",
            "the case is already held by KANTAH.32.73",
        ),
    ],
)
def test_a_target_against_the_kinds_direction_is_refused(
    kind: ReassignmentKind, holder: str, to_office: str, message: str
) -> None:
    registry: OfficeRegistry = REGISTRY
    with pytest.raises(ValidationError) as error:
        require_direction(registry, kind, holder, to_office)
    assert violations(error) == [("to_office_code", message)]
