"""Who may see and act on what (`aduan.service.visibility`): one matrix of roles x offices for every
service, plus the places where routing and query judge differently today (by design, see the
module's docstring)."""

from __future__ import annotations

import pytest

from aduan.core.errors import PermissionDeniedError
from aduan.reference.offices import OfficeRegistry, default_registry
from aduan.service.auth import (
    ADMIN,
    AUDITOR,
    GATEWAY,
    OFFICER,
    SERVICE,
    SUPERVISOR,
    SYSTEM,
    Principal,
)
from aduan.service.visibility import (
    is_pusat,
    may_act,
    may_see_case,
    may_see_complaint,
    office_filter,
    sees_everything,
)

TRIAGE = "PUSAT.IP3"
PUSAT_UNIT = "PUSAT.PSKP"
KANWIL = "KANWIL.32"  # Jawa Barat
KANTAH_UNDER = "KANTAH.32.73"  # Kota Bandung, under KANWIL.32
KANTAH_ELSEWHERE = "KANTAH.33.01"  # Cilacap, Jawa Tengah
HOLDERS = (TRIAGE, PUSAT_UNIT, KANWIL, KANTAH_UNDER, KANTAH_ELSEWHERE)
EVERY = frozenset(HOLDERS)


def principal(role: str, office: str = "") -> Principal:
    return Principal(f"{role}:test", frozenset({role}), office, role)


# (role, office of the token) -> the holders whose complaints that caller sees.
SEES: dict[tuple[str, str], frozenset[str]] = {
    (AUDITOR, ""): EVERY,
    (ADMIN, ""): EVERY,
    (SERVICE, ""): EVERY,
    (AUDITOR, KANTAH_UNDER): EVERY,
    (SUPERVISOR, TRIAGE): EVERY,
    (SUPERVISOR, PUSAT_UNIT): EVERY,  # any Pusat supervisor sees every office
    (SUPERVISOR, KANWIL): frozenset({KANWIL, KANTAH_UNDER}),
    (SUPERVISOR, KANTAH_UNDER): frozenset({KANTAH_UNDER}),
    (SUPERVISOR, KANTAH_ELSEWHERE): frozenset({KANTAH_ELSEWHERE}),
    (SUPERVISOR, ""): frozenset(),
    (OFFICER, TRIAGE): EVERY,  # the triage desk is above every office
    (OFFICER, PUSAT_UNIT): frozenset({PUSAT_UNIT}),  # a Pusat officer: only their own unit
    (OFFICER, KANWIL): frozenset({KANWIL, KANTAH_UNDER}),
    (OFFICER, KANTAH_UNDER): frozenset({KANTAH_UNDER}),
    (OFFICER, KANTAH_ELSEWHERE): frozenset({KANTAH_ELSEWHERE}),
    (OFFICER, ""): frozenset(),
    (GATEWAY, KANTAH_UNDER): frozenset(),
    (SYSTEM, ""): frozenset(),
}

# (role, office of the token) -> the holders whose cases that caller may work in routing.
ACTS: dict[tuple[str, str], frozenset[str]] = {
    (AUDITOR, ""): frozenset(),
    (ADMIN, ""): frozenset(),
    (SERVICE, ""): frozenset(),
    (AUDITOR, KANTAH_UNDER): frozenset(),
    (SUPERVISOR, TRIAGE): EVERY,
    (SUPERVISOR, PUSAT_UNIT): EVERY,
    (SUPERVISOR, KANWIL): frozenset({KANWIL, KANTAH_UNDER}),
    (SUPERVISOR, KANTAH_UNDER): frozenset({KANTAH_UNDER}),
    (SUPERVISOR, KANTAH_ELSEWHERE): frozenset({KANTAH_ELSEWHERE}),
    (SUPERVISOR, ""): frozenset(),
    (OFFICER, TRIAGE): frozenset({TRIAGE}),  # officers act only where their office holds
    (OFFICER, PUSAT_UNIT): frozenset({PUSAT_UNIT}),
    (OFFICER, KANWIL): frozenset({KANWIL}),
    (OFFICER, KANTAH_UNDER): frozenset({KANTAH_UNDER}),
    (OFFICER, KANTAH_ELSEWHERE): frozenset({KANTAH_ELSEWHERE}),
    (OFFICER, ""): frozenset(),
    (GATEWAY, KANTAH_UNDER): frozenset(),
    (SYSTEM, ""): frozenset(),
}
MATRIX = [(role, office, holder) for (role, office) in SEES for holder in HOLDERS]


@pytest.fixture(scope="module")
def registry() -> OfficeRegistry:
    return default_registry()


@pytest.mark.parametrize(("role", "office", "holder"), MATRIX)
def test_who_sees_a_complaint_is_the_same_in_routing_and_query(
    registry: OfficeRegistry, role: str, office: str, holder: str
) -> None:
    caller = principal(role, office)
    expected = holder in SEES[(role, office)]
    assert may_see_case(caller, holder, registry) is expected
    assert may_see_complaint(caller, holder, registry) is expected


@pytest.mark.parametrize(("role", "office", "holder"), MATRIX)
def test_who_may_work_a_case(registry: OfficeRegistry, role: str, office: str, holder: str) -> None:
    assert may_act(principal(role, office), holder, registry) is (holder in ACTS[(role, office)])


# Callers who see every office by their role, not through the hierarchy (the triage desk's
# officer also sees every office, but only as the root of the escalation tree).
BY_ROLE = {
    (AUDITOR, ""),
    (ADMIN, ""),
    (SERVICE, ""),
    (AUDITOR, KANTAH_UNDER),
    (SUPERVISOR, TRIAGE),
    (SUPERVISOR, PUSAT_UNIT),
}


@pytest.mark.parametrize(("role", "office"), list(SEES))
def test_sees_everything_by_role(role: str, office: str) -> None:
    assert sees_everything(principal(role, office)) is ((role, office) in BY_ROLE)
    if (role, office) in BY_ROLE:
        assert SEES[(role, office)] == EVERY


@pytest.mark.parametrize(("role", "office", "asked"), [(*key, h) for key in SEES for h in HOLDERS])
def test_an_office_filter_outside_what_the_caller_sees_is_refused(
    registry: OfficeRegistry, role: str, office: str, asked: str
) -> None:
    caller = principal(role, office)
    if sees_everything(caller) or asked in SEES[(role, office)]:
        assert office_filter(caller, asked, "filter.office_code", registry) == asked
    else:
        with pytest.raises(PermissionDeniedError):
            office_filter(caller, asked, "filter.office_code", registry)


@pytest.mark.parametrize(("role", "office"), list(SEES))
def test_no_office_filter_means_every_office_or_the_callers_own(
    registry: OfficeRegistry, role: str, office: str
) -> None:
    caller = principal(role, office)
    if sees_everything(caller):
        assert office_filter(caller, "", "office_code", registry) == ""
    elif role in (OFFICER, SUPERVISOR) and office:
        assert office_filter(caller, "", "office_code", registry) == office
    else:
        with pytest.raises(PermissionDeniedError):
            office_filter(caller, "", "office_code", registry)


def test_the_refusal_names_the_field_the_caller_and_the_office(registry: OfficeRegistry) -> None:
    with pytest.raises(PermissionDeniedError) as refused:
        office_filter(principal(OFFICER, KANTAH_UNDER), KANWIL, "filter.office_code", registry)
    assert (
        str(refused.value)
        == "filter.office_code: officer:test may not see the complaints of KANWIL.32"
    )
    with pytest.raises(PermissionDeniedError) as refused:
        office_filter(principal(SUPERVISOR), "", "office_code", registry)
    assert str(refused.value) == "supervisor:test: the token names no office"


def test_routing_and_query_agree_for_every_office_of_the_registry(
    registry: OfficeRegistry,
) -> None:
    holders = [*HOLDERS, "KANTAH.65.01", "KANTAH.95.01", "KANWIL.64", "KANWIL.91", "PUSAT.ITJEN"]
    assert all(holder in registry for holder in holders)
    for office in registry.offices:
        for role in (OFFICER, SUPERVISOR):
            caller = principal(role, office)
            for holder in holders:
                assert may_see_case(caller, holder, registry) == may_see_complaint(
                    caller, holder, registry
                ), (role, office, holder)


def test_where_routing_and_query_differ_today(registry: OfficeRegistry) -> None:
    triage_officer = principal(OFFICER, TRIAGE)
    # A case with no holding office: query files it with the triage desk, routing under nobody.
    assert may_see_complaint(triage_officer, "", registry)
    assert not may_see_case(triage_officer, "", registry)
    assert may_see_case(principal(SUPERVISOR, PUSAT_UNIT), "", registry)
    # A holder the registry no longer holds: query still files it under its Kanwil.
    removed = "KANTAH.32.99"
    assert removed not in registry
    kanwil_supervisor = principal(SUPERVISOR, KANWIL)
    assert may_see_complaint(kanwil_supervisor, removed, registry)
    assert not may_see_case(kanwil_supervisor, removed, registry)
    assert not may_act(kanwil_supervisor, removed, registry)
    assert may_act(principal(OFFICER, removed), removed, registry)
    # A token naming the Kanwil a split province does not have (yet): query counts it above the
    # province's Kantah, routing does not know it.
    unopened = principal(SUPERVISOR, "KANWIL.65")
    assert may_see_complaint(unopened, "KANTAH.65.01", registry)
    assert not may_see_case(unopened, "KANTAH.65.01", registry)


def test_a_pusat_office_is_known_by_its_code() -> None:
    assert is_pusat("PUSAT.IP3")
    assert is_pusat("PUSAT.ANY_UNIT")
    assert not is_pusat("KANWIL.32")
    assert not is_pusat("PUSAT")
    assert not is_pusat("")
