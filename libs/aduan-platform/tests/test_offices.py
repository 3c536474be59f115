"""The office registry: every province and regency has its office, and the escalation tree is
Kantah -> Kanwil -> Pusat triage."""

from __future__ import annotations

import pytest

from aduan.core.settings import SettingsError
from aduan.reference.areas import area_registry
from aduan.reference.offices import (
    OfficeLevel,
    OfficeRegistryError,
    build_registry,
    default_registry,
    holding_chain,
)


def test_the_registry_has_pusat_units_33_kanwil_and_a_kantah_per_regency() -> None:
    registry = default_registry()
    areas = area_registry()
    kanwil = registry.list(level=OfficeLevel.KANWIL)
    kantah = registry.list(level=OfficeLevel.KANTAH)
    assert len(areas.provinces) == 38
    assert len(kanwil) == 33
    assert len(kantah) == len(areas.regencies) == 514
    pusat = {o.code for o in registry.list(level=OfficeLevel.PUSAT)}
    assert {"PUSAT.IP3", "PUSAT.PSKP", "PUSAT.ITJEN", "PUSAT.HAK_TANAH"} <= pusat
    assert {"PUSAT.TATA_RUANG", "PUSAT.PENGADAAN_TANAH"} <= pusat
    assert registry.version.endswith("+idn-area-4.0.1")


def test_every_province_is_served_by_exactly_one_kanwil() -> None:
    registry = default_registry()
    served = [
        p for office in registry.list(level=OfficeLevel.KANWIL) for p in office.province_codes
    ]
    assert sorted(served) == sorted(area_registry().provinces)


def test_provinces_without_a_kanwil_are_served_by_the_kanwil_they_were_split_from() -> None:
    registry = default_registry()
    assert registry.get("KANWIL.93") is None
    for province, kanwil in {
        "65": "KANWIL.64",
        "93": "KANWIL.91",
        "94": "KANWIL.91",
        "95": "KANWIL.91",
        "96": "KANWIL.92",
    }.items():
        found = registry.kanwil_for_province(province)
        assert found is not None
        assert found.code == kanwil
    # A Kantah in Papua Selatan reports to the Kanwil in Papua.
    kantah = next(r for r in area_registry().regencies.values() if r.province_code == "93")
    assert registry.require(f"KANTAH.{kantah.code}").parent_code == "KANWIL.91"


def test_every_kantah_escalates_to_its_kanwil_then_to_the_triage_desk() -> None:
    registry = default_registry()
    for regency in area_registry().regencies.values():
        chain = [o.code for o in registry.ancestors(f"KANTAH.{regency.code}")]
        expected_kanwil = registry.kanwil_by_province[regency.province_code]
        assert chain == [expected_kanwil, "PUSAT.IP3"]
    assert registry.ancestors("PUSAT.IP3") == []
    assert [o.code for o in registry.ancestors("PUSAT.ITJEN")] == ["PUSAT.IP3"]


def test_names_come_from_the_area_codes() -> None:
    registry = default_registry()
    assert registry.require("KANTAH.32.73").name == "Kantor Pertanahan Kota Bandung"
    assert registry.require("KANWIL.32").name == "Kantor Wilayah BPN Provinsi Jawa Barat"


def test_the_supervising_office_of_a_bounce_is_the_lowest_office_above_both() -> None:
    registry = default_registry()
    assert registry.supervisor_of(["KANTAH.32.73", "KANTAH.32.01"]).code == "KANWIL.32"
    assert registry.supervisor_of(["KANTAH.32.73", "KANWIL.32"]).code == "PUSAT.IP3"
    assert registry.supervisor_of(["KANTAH.32.73", "KANTAH.33.01"]).code == "PUSAT.IP3"


def test_filters() -> None:
    registry = default_registry()
    under_jabar = registry.list(parent_code="KANWIL.32")
    assert under_jabar
    assert all(o.level is OfficeLevel.KANTAH for o in under_jabar)
    assert len(under_jabar) == len(area_registry().regencies_of("32"))
    papua = registry.list(province_code="94", level=OfficeLevel.KANWIL)
    assert [o.code for o in papua] == ["KANWIL.91"]


def test_the_chain_of_an_office_is_itself_then_every_office_above_it() -> None:
    registry = default_registry()
    assert registry.chain("KANTAH.32.73") == ("KANTAH.32.73", "KANWIL.32", "PUSAT.IP3")
    assert registry.chain("KANTAH.95.01") == ("KANTAH.95.01", "KANWIL.91", "PUSAT.IP3")
    assert registry.chain("PUSAT.PSKP") == ("PUSAT.PSKP", "PUSAT.IP3")
    assert registry.chain("PUSAT.IP3") == ("PUSAT.IP3",)
    # An office the registry does not hold (removed from the data) has nothing above it.
    assert registry.chain("KANTAH.32.99") == ("KANTAH.32.99",)
    assert registry.chain("") == ()


@pytest.mark.parametrize(
    ("code", "chain"),
    [
        ("KANTAH.32.73", ("KANTAH.32.73", "KANWIL.32", "PUSAT.IP3")),
        # A province served by another province's Kanwil: both Kanwil are above its Kantah.
        ("KANTAH.65.01", ("KANTAH.65.01", "KANWIL.65", "KANWIL.64", "PUSAT.IP3")),
        ("KANTAH.95.01", ("KANTAH.95.01", "KANWIL.95", "KANWIL.91", "PUSAT.IP3")),
        ("KANWIL.96", ("KANWIL.96", "KANWIL.92", "PUSAT.IP3")),
        ("KANWIL.32", ("KANWIL.32", "PUSAT.IP3")),
        ("PUSAT.PSKP", ("PUSAT.PSKP", "PUSAT.IP3")),
        ("PUSAT.IP3", ("PUSAT.IP3",)),
        # Codes the registry does not hold are placed by their shape.
        ("KANTAH.32.99", ("KANTAH.32.99", "KANWIL.32", "PUSAT.IP3")),
        ("KANTAH.99.01", ("KANTAH.99.01", "KANWIL.99", "PUSAT.IP3")),
        ("KANWIL.97", ("KANWIL.97", "PUSAT.IP3")),
        ("PUSAT.NEW_UNIT", ("PUSAT.NEW_UNIT", "PUSAT.IP3")),
        ("KANWIL.32.73", ("KANWIL.32.73", "PUSAT.IP3")),
        # Not office codes.
        ("KANTAH.32", ()),
        ("KANTAH", ()),
        ("BANDUNG", ()),
        ("", ()),
    ],
)
def test_the_holding_chain_places_every_office_code(code: str, chain: tuple[str, ...]) -> None:
    assert default_registry().holding_chain(code) == chain
    assert holding_chain(code) == chain


def test_the_holding_chain_holds_the_registry_chain_and_only_unknown_codes_besides() -> None:
    registry = default_registry()
    for code in registry.offices:
        known = [c for c in registry.holding_chain(code) if c in registry]
        assert tuple(known) == registry.chain(code), code


def test_inconsistent_office_data_is_a_settings_error() -> None:
    config = {"version": "1", "area_data_version": "4.0.1", "triage_office": "PUSAT.IP3"}
    with pytest.raises(SettingsError, match="missing"):
        build_registry(config, area_registry())
    with pytest.raises(OfficeRegistryError, match="must be named PUSAT"):
        build_registry({**config, "pusat": [{"code": "IP3", "name": "x"}]}, area_registry())


def test_oversight_data_naming_no_pusat_unit_or_category_is_a_settings_error() -> None:
    config = {
        "version": "1",
        "area_data_version": "4.0.1",
        "triage_office": "PUSAT.IP3",
        "pusat": [
            {"code": "PUSAT.IP3", "name": "triage"},
            {"code": "PUSAT.ITJEN", "name": "inspectorate"},
        ],
    }
    registry = build_registry(config, area_registry())
    # No oversight section: nobody oversees other offices; only confidential cases are sealed.
    assert registry.oversight.overseers == ()
    assert not registry.oversight.is_sealed("PUSAT.ITJEN", "ILLEGAL_LEVY", False)
    assert registry.oversight.is_sealed("PUSAT.ITJEN", "ILLEGAL_LEVY", True)
    assert not registry.oversight.is_independent("PUSAT.ITJEN")
    bad_sections = {
        "is not a Pusat unit": {"overseers": ["KANWIL.32"]},
        "PUSAT.NOWHERE": {"inspectorate": "PUSAT.NOWHERE"},
        "oversees nobody": {"inspectorate": "PUSAT.ITJEN", "overseers": ["PUSAT.ITJEN"]},
        "is not a category": {"sealed_categories": ["BRIBERY"]},
        "names no inspectorate": {"inspectorate_independent": True},
        "true or false": {"inspectorate": "PUSAT.ITJEN", "inspectorate_independent": "yes"},
    }
    for message, section in bad_sections.items():
        with pytest.raises(OfficeRegistryError, match=message):
            build_registry({**config, "oversight": section}, area_registry())


def test_reassignment_targets_follow_the_kinds_direction() -> None:
    """The rule routing checks reassignments by and the desk's office picker offers targets by
    (docs/routing.md, "Reassignment kinds")."""
    registry = default_registry()
    codes = {
        kind: [office.code for office in registry.targets(kind, "KANTAH.32.73")]
        for kind in ("ESCALATE", "DELEGATE", "TRANSFER", "RETURN_TO_TRIAGE", "REROUTE")
    }
    assert codes["ESCALATE"] == ["PUSAT.IP3", "KANWIL.32"]
    assert codes["DELEGATE"] == []
    assert "KANTAH.32.04" in codes["TRANSFER"]
    assert "KANTAH.32.73" not in codes["TRANSFER"]
    assert all(code.startswith("KANTAH.") for code in codes["TRANSFER"])
    assert codes["RETURN_TO_TRIAGE"] == ["PUSAT.IP3"]
    # Only the rules re-route; an officer's kind it is not.
    assert codes["REROUTE"] == []
    below = [office.code for office in registry.targets("DELEGATE", "KANWIL.32")]
    assert below == [o.code for o in registry.list(parent_code="KANWIL.32")]
    assert not registry.in_direction("ESCALATE", "KANTAH.32.73", "KANTAH.32.73")
    assert not registry.in_direction("TRANSFER", "KANTAH.32.73", "NOWHERE.1")
