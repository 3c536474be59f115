"""Who may see and act on what (`aduan.service.visibility`): one matrix of roles x offices for every
service, plus the places where routing and query judge differently today (by design, see the
module's docstring)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from aduan.core.errors import PermissionDeniedError
from aduan.reference.offices import OfficeLevel, OfficeRegistry, default_registry
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
    in_holding_chain,
    may_act,
    may_see_case,
    may_see_complaint,
    office_filter,
    sealed_scope,
    sees_everything,
)

TRIAGE = "PUSAT.IP3"
PUSAT_UNIT = "PUSAT.PSKP"
KANWIL = "KANWIL.32"  # Jawa Barat
KANTAH_UNDER = "KANTAH.32.73"  # Kota Bandung, under KANWIL.32
KANTAH_ELSEWHERE = "KANTAH.33.01"  # Cilacap, Jawa Tengah
INSPECTORATE = "PUSAT.ITJEN"
HOLDERS = (TRIAGE, PUSAT_UNIT, KANWIL, KANTAH_UNDER, KANTAH_ELSEWHERE, INSPECTORATE)
EVERY = frozenset(HOLDERS)
# An ordinary (not sealed) case: the matrices below hold for it; sealed ones further down.
PLAIN = {"category": "LAND_SERVICE", "confidential": False}


def principal(role: str, office: str = "") -> Principal:
    return Principal(f"{role}:test", frozenset({role}), office, role)


# (role, office of the token) -> the holders whose complaints that caller sees.
SEES: dict[tuple[str, str], frozenset[str]] = {
    (AUDITOR, ""): EVERY,
    (ADMIN, ""): EVERY,
    (SERVICE, ""): EVERY,
    (AUDITOR, KANTAH_UNDER): EVERY,
    # the triage desk is above every office but the independent Inspectorate
    (SUPERVISOR, TRIAGE): EVERY - {INSPECTORATE},
    # an overseeing Pusat unit sees every office, but nothing the Inspectorate holds (sealed)
    (SUPERVISOR, PUSAT_UNIT): EVERY - {INSPECTORATE},
    (SUPERVISOR, INSPECTORATE): frozenset({INSPECTORATE}),  # its own cases only
    (SUPERVISOR, KANWIL): frozenset({KANWIL, KANTAH_UNDER}),
    (SUPERVISOR, KANTAH_UNDER): frozenset({KANTAH_UNDER}),
    (SUPERVISOR, KANTAH_ELSEWHERE): frozenset({KANTAH_ELSEWHERE}),
    (SUPERVISOR, ""): frozenset(),
    (OFFICER, TRIAGE): EVERY - {INSPECTORATE},  # the triage desk is above every other office
    (OFFICER, PUSAT_UNIT): frozenset({PUSAT_UNIT}),  # a Pusat officer: only their own unit
    (OFFICER, INSPECTORATE): frozenset({INSPECTORATE}),
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
    (SUPERVISOR, TRIAGE): EVERY - {INSPECTORATE},
    (SUPERVISOR, PUSAT_UNIT): EVERY - {INSPECTORATE},
    (SUPERVISOR, INSPECTORATE): frozenset({INSPECTORATE}),
    (SUPERVISOR, KANWIL): frozenset({KANWIL, KANTAH_UNDER}),
    (SUPERVISOR, KANTAH_UNDER): frozenset({KANTAH_UNDER}),
    (SUPERVISOR, KANTAH_ELSEWHERE): frozenset({KANTAH_ELSEWHERE}),
    (SUPERVISOR, ""): frozenset(),
    (OFFICER, TRIAGE): frozenset({TRIAGE}),  # officers act only where their office holds
    (OFFICER, PUSAT_UNIT): frozenset({PUSAT_UNIT}),
    (OFFICER, INSPECTORATE): frozenset({INSPECTORATE}),
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
    assert may_see_case(caller, holder, registry, **PLAIN) is expected
    assert may_see_complaint(caller, holder, registry, **PLAIN) is expected


@pytest.mark.parametrize(("role", "office", "holder"), MATRIX)
def test_who_may_work_a_case(registry: OfficeRegistry, role: str, office: str, holder: str) -> None:
    caller = principal(role, office)
    assert may_act(caller, holder, registry, **PLAIN) is (holder in ACTS[(role, office)])


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
def test_sees_everything_by_role(registry: OfficeRegistry, role: str, office: str) -> None:
    assert sees_everything(principal(role, office), registry) is ((role, office) in BY_ROLE)
    if (role, office) in BY_ROLE:
        # Every office, though not what the Inspectorate holds unless the role reads everything.
        assert SEES[(role, office)] >= EVERY - {INSPECTORATE}


@pytest.mark.parametrize(("role", "office", "asked"), [(*key, h) for key in SEES for h in HOLDERS])
def test_an_office_filter_outside_what_the_caller_sees_is_refused(
    registry: OfficeRegistry, role: str, office: str, asked: str
) -> None:
    caller = principal(role, office)
    if sees_everything(caller, registry) or asked in SEES[(role, office)]:
        assert office_filter(caller, asked, "filter.office_code", registry) == asked
    else:
        with pytest.raises(PermissionDeniedError):
            office_filter(caller, asked, "filter.office_code", registry)


@pytest.mark.parametrize(("role", "office"), list(SEES))
def test_no_office_filter_means_every_office_or_the_callers_own(
    registry: OfficeRegistry, role: str, office: str
) -> None:
    caller = principal(role, office)
    if sees_everything(caller, registry):
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
                assert may_see_case(caller, holder, registry, **PLAIN) == may_see_complaint(
                    caller, holder, registry, **PLAIN
                ), (role, office, holder)


def test_where_routing_and_query_differ_today(registry: OfficeRegistry) -> None:
    triage_officer = principal(OFFICER, TRIAGE)
    # A case with no holding office: query files it with the triage desk, routing under nobody.
    assert may_see_complaint(triage_officer, "", registry, **PLAIN)
    assert not may_see_case(triage_officer, "", registry, **PLAIN)
    assert may_see_case(principal(SUPERVISOR, PUSAT_UNIT), "", registry, **PLAIN)
    # A holder the registry no longer holds: query still files it under its Kanwil.
    removed = "KANTAH.32.99"
    assert removed not in registry
    kanwil_supervisor = principal(SUPERVISOR, KANWIL)
    assert may_see_complaint(kanwil_supervisor, removed, registry, **PLAIN)
    assert not may_see_case(kanwil_supervisor, removed, registry, **PLAIN)
    assert not may_act(kanwil_supervisor, removed, registry, **PLAIN)
    assert may_act(principal(OFFICER, removed), removed, registry, **PLAIN)
    # A token naming the Kanwil a split province does not have (yet): query counts it above the
    # province's Kantah, routing does not know it.
    unopened = principal(SUPERVISOR, "KANWIL.65")
    assert may_see_complaint(unopened, "KANTAH.65.01", registry, **PLAIN)
    assert not may_see_case(unopened, "KANTAH.65.01", registry, **PLAIN)


# Sealed cases: held by the Inspectorate, confidential, or of an integrity category. Seen only by
# their holding chain and the roles that read everything, whoever else oversees their office.
SEALED_KINDS = {
    "illegal levy": {"category": "ILLEGAL_LEVY", "confidential": False},
    "abuse of authority": {"category": "ABUSE_OF_AUTHORITY", "confidential": False},
    "confidential": {"category": "LAND_SERVICE", "confidential": True},
}
# (role, office) -> the holders whose sealed cases that caller sees (and, for supervisors, works).
SEES_SEALED: dict[tuple[str, str], frozenset[str]] = {
    **{key: EVERY for key in ((AUDITOR, ""), (ADMIN, ""), (SERVICE, ""), (AUDITOR, KANTAH_UNDER))},
    # the triage desk is in every holding chain but the independent Inspectorate's
    (SUPERVISOR, TRIAGE): EVERY - {INSPECTORATE},
    (SUPERVISOR, PUSAT_UNIT): frozenset({PUSAT_UNIT}),  # overseeing ends at sealed cases
    (SUPERVISOR, INSPECTORATE): frozenset({INSPECTORATE}),
    (SUPERVISOR, KANWIL): frozenset({KANWIL, KANTAH_UNDER}),
    (SUPERVISOR, KANTAH_UNDER): frozenset({KANTAH_UNDER}),
    (OFFICER, TRIAGE): EVERY - {INSPECTORATE},
    (OFFICER, PUSAT_UNIT): frozenset({PUSAT_UNIT}),
    (OFFICER, KANTAH_ELSEWHERE): frozenset({KANTAH_ELSEWHERE}),
}


@pytest.mark.parametrize("kind", list(SEALED_KINDS))
@pytest.mark.parametrize(
    ("role", "office", "holder"), [(*k, h) for k in SEES_SEALED for h in HOLDERS]
)
def test_a_sealed_case_is_seen_only_by_its_holding_chain_and_auditors(
    registry: OfficeRegistry, kind: str, role: str, office: str, holder: str
) -> None:
    caller = principal(role, office)
    case = SEALED_KINDS[kind]
    expected = holder in SEES_SEALED[(role, office)]
    assert may_see_case(caller, holder, registry, **case) is expected
    assert may_see_complaint(caller, holder, registry, **case) is expected
    if role == SUPERVISOR:
        assert may_act(caller, holder, registry, **case) is expected


def test_no_other_pusat_unit_sees_or_works_what_the_inspectorate_holds(
    registry: OfficeRegistry,
) -> None:
    """Not even the triage desk, above every office: the Inspectorate is independent."""
    levy = SEALED_KINDS["illegal levy"]
    for office in registry.list(level=OfficeLevel.PUSAT):
        for role in (OFFICER, SUPERVISOR):
            caller = principal(role, office.code)
            expected = office.code == INSPECTORATE
            for case in (PLAIN, levy):
                assert may_see_case(caller, INSPECTORATE, registry, **case) is expected, office
                assert may_see_complaint(caller, INSPECTORATE, registry, **case) is expected
                assert may_act(caller, INSPECTORATE, registry, **case) is expected, office
                assert in_holding_chain(caller, INSPECTORATE, registry) is expected, office


def test_the_triage_desk_still_sees_what_it_places_before_the_inspectorate_holds_it(
    registry: OfficeRegistry,
) -> None:
    levy = SEALED_KINDS["illegal levy"]
    for role in (OFFICER, SUPERVISOR):
        desk = principal(role, TRIAGE)
        # Unplaced (query files it with the desk) and held by the desk: its own.
        assert may_see_complaint(desk, "", registry, **levy)
        assert may_see_case(desk, TRIAGE, registry, **levy)
        assert may_act(desk, TRIAGE, registry, **levy)
        # Sealed cases elsewhere stay in its chain; only the Inspectorate answers to nobody.
        assert may_see_case(desk, KANTAH_UNDER, registry, **levy)
        assert not may_see_case(desk, INSPECTORATE, registry, **levy)


def test_the_inspectorate_is_independent_only_by_the_data() -> None:
    registry = default_registry()
    dependent = replace(
        registry, oversight=replace(registry.oversight, inspectorate_independent=False)
    )
    levy = SEALED_KINDS["illegal levy"]
    desk = principal(SUPERVISOR, TRIAGE)
    assert not may_see_case(desk, INSPECTORATE, registry, **levy)
    assert may_see_case(desk, INSPECTORATE, dependent, **levy)
    assert sealed_scope(principal(OFFICER, TRIAGE), dependent) is None


def test_the_oversight_data() -> None:
    oversight = default_registry().oversight
    assert oversight.inspectorate == INSPECTORATE
    assert oversight.inspectorate_independent
    assert oversight.is_independent(INSPECTORATE)
    assert not oversight.is_independent(TRIAGE)
    assert oversight.seen_by(INSPECTORATE, (INSPECTORATE, TRIAGE)) == (INSPECTORATE,)
    assert oversight.seen_by(KANTAH_UNDER, (KANTAH_UNDER, KANWIL, TRIAGE)) == (
        KANTAH_UNDER,
        KANWIL,
        TRIAGE,
    )
    assert INSPECTORATE not in oversight.overseers
    assert {TRIAGE, PUSAT_UNIT, "PUSAT.HAK_TANAH"} <= set(oversight.overseers)
    assert oversight.is_sealed(INSPECTORATE, "LAND_SERVICE", False)
    assert oversight.is_sealed(KANTAH_UNDER, "ILLEGAL_LEVY", False)
    assert oversight.is_sealed(KANTAH_UNDER, "ABUSE_OF_AUTHORITY", False)
    assert oversight.is_sealed(KANTAH_UNDER, "LAND_SERVICE", True)
    assert not oversight.is_sealed(KANTAH_UNDER, "LAND_SERVICE", False)
    assert not oversight.is_sealed("", "", False)


def test_overseers_and_the_triage_desk_get_a_sealed_scope_for_their_lists(
    registry: OfficeRegistry,
) -> None:
    """Overseers skip the office filter; the triage desk's queue holds the Inspectorate's cases,
    which it does not see. Everyone else's office filter already decides."""
    scoped = ((SUPERVISOR, PUSAT_UNIT), (SUPERVISOR, TRIAGE), (OFFICER, TRIAGE))
    for role, office in scoped:
        scope = sealed_scope(principal(role, office), registry)
        assert scope is not None
        assert scope.office == office
        assert scope.oversight == registry.oversight
    for role, office in SEES:
        if (role, office) not in scoped:
            assert sealed_scope(principal(role, office), registry) is None, (role, office)
