"""Routing rules as data: the defaults place every complaint at an existing office (illegal levy
always at the Inspectorate), and an invalid rule file stops start-up with a clear message."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from aduan.core.settings import ServiceSettings
from aduan.reference.areas import area_registry
from aduan.reference.categories import Category
from aduan.reference.offices import default_registry
from aduan_routing.__main__ import build_runtime, main
from aduan_routing.domain import Scope
from aduan_routing.rules import Facts, RuleSetError, default_rules_source, load_rules, parse_rules


def test_default_rules_place_every_regency_and_category_at_an_existing_office() -> None:
    registry = default_registry()
    rules = load_rules(registry)
    for regency, category, scope in itertools.product(
        area_registry().regencies.values(), Category, Scope
    ):
        facts = Facts(category, scope, regency.province_code, regency.code)
        placement = rules.place(facts)
        assert placement.office.code in registry
        assert placement.rule_id in {r.id for r in rules.rules}
        assert placement.ruleset_version == rules.version
        if category in (Category.ILLEGAL_LEVY, Category.ABUSE_OF_AUTHORITY):
            # The inspectorate, never the office complained about.
            assert placement.office.code == "PUSAT.ITJEN"
        elif category is Category.LAND_SERVICE:
            assert placement.office.code == f"KANTAH.{regency.code}"
        elif category is Category.LAND_DISPUTE:
            assert (
                placement.office.code
                == {
                    Scope.NATIONAL: "PUSAT.PSKP",
                    Scope.REGIONAL: registry.kanwil_by_province[regency.province_code],
                    Scope.LOCAL: f"KANTAH.{regency.code}",
                    Scope.UNSPECIFIED: f"KANTAH.{regency.code}",
                }[scope]
            )
        elif category in (Category.SPATIAL_PLANNING, Category.LAND_ACQUISITION):
            assert placement.office.code == registry.kanwil_by_province[regency.province_code]
        elif category in (Category.UNCLASSIFIED, Category.OTHER):
            assert placement.office.code == "PUSAT.IP3"


def test_unlocated_or_province_only_complaints() -> None:
    rules = load_rules(default_registry())
    nowhere = Facts(Category.LAND_SERVICE, Scope.UNSPECIFIED)
    assert rules.place(nowhere).office.code == "PUSAT.IP3"
    assert rules.place(nowhere).rule_id == "triage"
    papua_selatan = Facts(Category.LAND_SERVICE, Scope.UNSPECIFIED, province_code="93")
    assert rules.place(papua_selatan).office.code == "KANWIL.91"
    unknown_regency = Facts(Category.LAND_SERVICE, Scope.UNSPECIFIED, "32", "32.99")
    assert rules.place(unknown_regency).office.code == "KANWIL.32"
    levy_nowhere = Facts(Category.ILLEGAL_LEVY, Scope.UNSPECIFIED)
    assert rules.place(levy_nowhere).office.code == "PUSAT.ITJEN"


def test_the_version_names_the_declared_version_and_the_file_digest() -> None:
    source = default_rules_source()
    registry = default_registry()
    first = parse_rules(source, registry)
    edited = parse_rules(
        source.replace("Land disputes of national", "Disputes of national"), registry
    )
    assert first.version.startswith("2026.1+")
    assert edited.version.startswith("2026.1+")
    assert edited.version != first.version


def _replace(old: str, new: str) -> str:
    source = default_rules_source()
    assert old in source
    return source.replace(old, new, 1)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("version: 1\nrules: [\n", "not valid YAML"),
        ("- just a list\n", "expected a mapping"),
        ("version: 1\nrules: []\n", "rules must be a non-empty list"),
        (_replace("route_to: PUSAT.ITJEN", "route_to: PUSAT.NOPE"), "unknown office 'PUSAT.NOPE'"),
        (
            _replace("route_to: PUSAT.ITJEN", "route_to: KANTAH.{district}"),
            "unknown route_to template 'KANTAH.{district}'",
        ),
        (_replace("ILLEGAL_LEVY, ABUSE", "PUNGLI, ABUSE"), "unknown category 'PUNGLI'"),
        (_replace("scope: [NATIONAL]", "scope: [GLOBAL]"), "unknown scope 'GLOBAL'"),
        (
            _replace("  - id: triage\n", "  - id: triage\n    when: {category: [OTHER]}\n"),
            "no rule matches",
        ),
        (
            _replace(
                "  - id: dispute-national-to-pskp",
                "  - id: every-dispute\n    when: {category: [LAND_DISPUTE]}\n"
                "    route_to: PUSAT.PSKP\n\n  - id: dispute-national-to-pskp",
            ),
            "rule 'dispute-national-to-pskp' is unreachable",
        ),
        (_replace("id: land-service-to-kantah", "id: triage"), "duplicate rule id 'triage'"),
        (
            _replace(
                "    when:\n      category: [ILLEGAL", "    whenever:\n      category: [ILLEGAL"
            ),
            "unknown keys",
        ),
    ],
)
def test_invalid_rule_files_are_refused_with_a_clear_message(source: str, message: str) -> None:
    with pytest.raises(RuleSetError, match=message.replace("{", r"\{").replace("[", r"\[")):
        parse_rules(source, default_registry(), origin="rules.yaml")


def test_an_invalid_rule_file_stops_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text(_replace("route_to: PUSAT.ITJEN", "route_to: KANTAH.99.99"), encoding="utf-8")
    env = {
        "ADUAN_ROUTING_RULES_FILE": str(bad),
        "ADUAN_STORE_URL": f"sqlite:///{tmp_path / 'routing.sqlite'}",
    }
    with pytest.raises(RuleSetError, match=r"unknown office 'KANTAH\.99\.99'"):
        build_runtime(ServiceSettings.from_env("routing", env))

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(
        "aduan.service.runtime.bootstrap", lambda service: ServiceSettings.from_env(service)
    )
    with pytest.raises(SystemExit) as exited:
        main([])
    assert "refusing to start" in str(exited.value.code)
    assert str(bad) in str(exited.value.code)
    assert not (tmp_path / "routing.sqlite").exists()


def test_a_missing_rule_file_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(RuleSetError, match="cannot read routing rules"):
        load_rules(default_registry(), tmp_path / "absent.yaml")


def test_a_custom_rule_file_is_used(tmp_path: Path) -> None:
    custom = tmp_path / "rules.yaml"
    custom.write_text(
        "version: custom-1\nrules:\n  - id: everything-to-triage\n    route_to: PUSAT.IP3\n",
        encoding="utf-8",
    )
    rules = load_rules(default_registry(), custom)
    assert rules.version.startswith("custom-1+")
    assert (
        rules.place(Facts(Category.LAND_SERVICE, Scope.LOCAL, "32", "32.73")).office.code
        == "PUSAT.IP3"
    )
