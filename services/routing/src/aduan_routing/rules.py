"""Routing rules as data: which office receives a complaint first.

A rule set is a YAML document (`data/routing-rules.yaml` by default, or the file named by
ADUAN_ROUTING_RULES_FILE) with a version and an ordered list of rules; the first rule whose
conditions hold places the case. Loading validates the whole set against the office registry
and every possible complaint, so a bad file stops the service at start-up instead of misrouting.
Transport-free.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from aduan.core.settings import SettingsError
from aduan.reference.categories import Category
from aduan.reference.offices import Office, OfficeRegistry
from aduan_routing.domain import Scope
from aduan_routing.packaged import packaged_text


class RuleSetError(SettingsError):
    """The routing rules are invalid; the service refuses to start."""


class Located(StrEnum):
    """How precisely a complaint is located, least to most."""

    NOWHERE = "NOWHERE"
    PROVINCE = "PROVINCE"
    REGENCY = "REGENCY"


_LOCATED_RANK = {Located.NOWHERE: 0, Located.PROVINCE: 1, Located.REGENCY: 2}
_TEMPLATES: dict[str, tuple[str, Located]] = {
    "KANTAH.{regency}": ("KANTAH", Located.REGENCY),
    "KANWIL.{province}": ("KANWIL", Located.PROVINCE),
}
_PLACEHOLDER = re.compile(r"\{[^}]*\}")
_WHEN_KEYS = {"category", "scope", "located"}


@dataclass(frozen=True)
class Facts:
    """What the rules look at: a complaint's classification and location."""

    category: Category
    scope: Scope
    province_code: str = ""
    regency_code: str = ""


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    categories: frozenset[Category] | None
    scopes: frozenset[Scope] | None
    located: Located
    route_to: str

    def matches(self, category: Category, scope: Scope, located: Located) -> bool:
        return (
            (self.categories is None or category in self.categories)
            and (self.scopes is None or scope in self.scopes)
            and _LOCATED_RANK[located] >= _LOCATED_RANK[self.located]
        )

    @property
    def when(self) -> str:
        """The conditions, for humans."""
        parts: list[str] = []
        if self.categories is not None:
            parts.append(f"category in [{', '.join(sorted(self.categories))}]")
        if self.scopes is not None:
            parts.append(f"scope in [{', '.join(sorted(self.scopes))}]")
        if self.located is not Located.NOWHERE:
            parts.append(f"located to a {self.located.lower()}")
        return " and ".join(parts) or "always"


@dataclass(frozen=True)
class Placement:
    office: Office
    rule_id: str
    ruleset_version: str


@dataclass(frozen=True)
class RuleSet:
    version: str
    rules: tuple[Rule, ...]
    source: str
    registry: OfficeRegistry

    def place(self, facts: Facts) -> Placement:
        """The office the first matching rule chooses (a rule set always has one: validated)."""
        province, regency = self._where(facts)
        located = Located.REGENCY if regency else Located.PROVINCE if province else Located.NOWHERE
        for rule in self.rules:
            if rule.matches(facts.category, facts.scope, located):
                office = self._target(rule, province, regency)
                return Placement(office, rule.id, self.version)
        raise AssertionError("validated rule sets end in a catch-all")  # pragma: no cover

    def _where(self, facts: Facts) -> tuple[str, str]:
        """(province, regency) that the registry knows; a regency implies its province."""
        areas = self.registry.areas
        regency = areas.regencies.get(facts.regency_code)
        if regency is not None:
            return regency.province_code, regency.code
        if facts.province_code in areas.provinces:
            return facts.province_code, ""
        return "", ""

    def _target(self, rule: Rule, province: str, regency: str) -> Office:
        office: Office | None
        if rule.route_to == "KANTAH.{regency}":
            office = self.registry.kantah_for_regency(regency)
        elif rule.route_to == "KANWIL.{province}":
            office = self.registry.kanwil_for_province(province)
        else:
            office = self.registry.get(rule.route_to)
        assert office is not None, f"rule {rule.id} resolved to no office"
        return office


def _enum_set(
    enum: type[Category] | type[Scope], values: Any, rule_id: str, key: str
) -> frozenset[Any]:
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not values:
        raise RuleSetError(f"rule {rule_id!r}: when.{key} must be a non-empty list")
    found: set[Any] = set()
    for value in values:
        try:
            found.add(enum(str(value)))
        except ValueError:
            allowed = ", ".join(member.value for member in enum)
            raise RuleSetError(
                f"rule {rule_id!r}: unknown {key} {value!r} (one of {allowed})"
            ) from None
    return frozenset(found)


def _parse_rule(raw: Any, index: int, registry: OfficeRegistry) -> Rule:
    if not isinstance(raw, Mapping):
        raise RuleSetError(f"rule #{index + 1} must be a mapping with id, when and route_to")
    rule_id = str(raw.get("id") or "").strip()
    if not rule_id:
        raise RuleSetError(f"rule #{index + 1} has no id")
    unknown_keys = set(raw) - {"id", "description", "when", "route_to"}
    if unknown_keys:
        raise RuleSetError(f"rule {rule_id!r}: unknown keys {sorted(unknown_keys)}")
    when = raw.get("when") or {}
    if not isinstance(when, Mapping):
        raise RuleSetError(f"rule {rule_id!r}: when must be a mapping")
    unknown_conditions = set(when) - _WHEN_KEYS
    if unknown_conditions:
        raise RuleSetError(
            f"rule {rule_id!r}: unknown conditions {sorted(unknown_conditions)} "
            f"(known: {sorted(_WHEN_KEYS)})"
        )
    route_to = str(raw.get("route_to") or "").strip()
    if not route_to:
        raise RuleSetError(f"rule {rule_id!r} has no route_to")

    located = Located.NOWHERE
    if "located" in when:
        try:
            located = Located(str(when["located"]).upper())
        except ValueError:
            raise RuleSetError(
                f"rule {rule_id!r}: located must be regency or province, not {when['located']!r}"
            ) from None
    if _PLACEHOLDER.search(route_to):
        if route_to not in _TEMPLATES:
            raise RuleSetError(
                f"rule {rule_id!r}: unknown route_to template {route_to!r} "
                f"(known: {', '.join(_TEMPLATES)})"
            )
        implied = _TEMPLATES[route_to][1]
        if _LOCATED_RANK[implied] > _LOCATED_RANK[located]:
            located = implied
    elif route_to not in registry:
        raise RuleSetError(f"rule {rule_id!r}: unknown office {route_to!r}")

    return Rule(
        id=rule_id,
        description=str(raw.get("description") or "").strip(),
        categories=_enum_set(Category, when["category"], rule_id, "category")
        if "category" in when
        else None,
        scopes=_enum_set(Scope, when["scope"], rule_id, "scope") if "scope" in when else None,
        located=located,
        route_to=route_to,
    )


def parse_rules(source: str, registry: OfficeRegistry, *, origin: str = "rules") -> RuleSet:
    """Parse and validate a rule file. Raises RuleSetError with a message naming the problem."""
    try:
        document = yaml.safe_load(source)
    except yaml.YAMLError as error:
        raise RuleSetError(f"{origin}: not valid YAML: {error}") from None
    if not isinstance(document, Mapping):
        raise RuleSetError(f"{origin}: expected a mapping with version and rules")
    declared = str(document.get("version") or "").strip()
    if not declared:
        raise RuleSetError(f"{origin}: no version")
    raw_rules = document.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise RuleSetError(f"{origin}: rules must be a non-empty list")
    try:
        rules = tuple(_parse_rule(raw, i, registry) for i, raw in enumerate(raw_rules))
    except RuleSetError as error:
        raise RuleSetError(f"{origin}: {error}") from None
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleSetError(f"{origin}: duplicate rule id {rule.id!r}")
        seen.add(rule.id)
    _check_reachable_and_complete(rules, origin)
    # The digest tells two files apart even when someone forgot to bump the version.
    digest = hashlib.sha256(source.encode()).hexdigest()[:8]
    return RuleSet(f"{declared}+{digest}", rules, source, registry)


def _check_reachable_and_complete(rules: Sequence[Rule], origin: str) -> None:
    """The condition space is finite (category x scope x how located): try every point."""
    chosen: set[str] = set()
    for category, scope, located in itertools.product(Category, Scope, Located):
        first = next((r for r in rules if r.matches(category, scope, located)), None)
        if first is None:
            raise RuleSetError(
                f"{origin}: no rule matches a complaint with category {category.value}, scope "
                f"{scope.value}, located {located.value.lower()}; end with a catch-all rule"
            )
        chosen.add(first.id)
    for rule in rules:
        if rule.id not in chosen:
            raise RuleSetError(
                f"{origin}: rule {rule.id!r} is unreachable: earlier rules take every complaint "
                f"it matches ({rule.when})"
            )


def default_rules_source() -> str:
    return packaged_text("routing-rules.yaml")


def load_rules(registry: OfficeRegistry, path: str | Path | None = None) -> RuleSet:
    """The rule file at `path`, or the packaged defaults."""
    if path is None or str(path) == "":
        return parse_rules(default_rules_source(), registry, origin="default routing rules")
    file = Path(path)
    try:
        source = file.read_text(encoding="utf-8")
    except OSError as error:
        raise RuleSetError(f"cannot read routing rules {file}: {error.strerror}") from None
    return parse_rules(source, registry, origin=str(file))
