"""The office registry: Pusat units, one Kanwil per served province group, one Kantah per regency
or city, and the escalation tree Kantah -> Kanwil -> Pusat triage.

Versioned data: `aduan/data/offices.yaml` (Pusat units, which Kanwil serves the provinces that have
none of their own) plus the Kemendagri area codes from `aduan.reference.areas` (ODbL 1.0, credit idn-area-data
contributors; see `aduan/data/NOTICE.md`). Transport-free.

Routing places and escalates cases by this registry; the query service files its read models by
`holding_chain` over the same data; who may see what is `aduan.service.visibility`. One hierarchy for every
service (docs/architecture.md, rule 7).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import yaml

from aduan.core.settings import SettingsError
from aduan.reference.areas import AreaRegistry, area_registry
from aduan.reference.categories import Category


class OfficeLevel(StrEnum):
    PUSAT = "PUSAT"
    KANWIL = "KANWIL"
    KANTAH = "KANTAH"


@dataclass(frozen=True)
class Office:
    code: str
    level: OfficeLevel
    name: str
    # Empty for the Pusat triage desk, the root of the escalation tree.
    parent_code: str = ""
    province_codes: tuple[str, ...] = ()
    regency_code: str = ""


@dataclass(frozen=True)
class Oversight:
    """Oversight beyond the escalation tree, as data (`oversight` in offices.yaml): which Pusat
    units oversee every office, and which cases are sealed to their holding chain. Tuples, not
    sets, so that its repr (part of query's page-token fingerprints) is the same in every
    process."""

    inspectorate: str = ""
    overseers: tuple[str, ...] = ()
    sealed_categories: tuple[str, ...] = ()
    # The inspectorate answers to no office above it: what it holds is sealed from the offices
    # above it in the escalation tree too (the triage desk), and a deadline it misses is not
    # escalated out of it.
    inspectorate_independent: bool = False

    def is_sealed(self, holder: str, category: str, confidential: bool) -> bool:
        """Whether a case is seen only by its holding chain and auditors."""
        return (
            confidential
            or (bool(self.inspectorate) and holder == self.inspectorate)
            or category in self.sealed_categories
        )

    def is_independent(self, holder: str) -> bool:
        """Whether `holder` is the independent inspectorate: its chain is itself alone."""
        return self.inspectorate_independent and bool(holder) and holder == self.inspectorate

    def seen_by(self, holder: str, chain: tuple[str, ...]) -> tuple[str, ...]:
        """The offices of `chain` (the office holding a case and the offices above it, nearest
        first) that see the case `holder` holds because they are in its chain: all of them,
        except for a case the independent inspectorate holds, which only it sees."""
        if self.is_independent(holder):
            return (holder,)
        return chain


class OfficeRegistryError(SettingsError):
    """The office data is inconsistent; the service refuses to start (a `SettingsError`, which
    the runtime reports as a configuration error, like routing's other data errors)."""


@dataclass(frozen=True)
class OfficeRegistry:
    version: str
    triage_code: str
    offices: Mapping[str, Office]
    # Province code -> code of the Kanwil that serves it.
    kanwil_by_province: Mapping[str, str]
    areas: AreaRegistry = field(repr=False)
    oversight: Oversight = Oversight()

    # -- lookups ----------------------------------------------------------------------------
    def get(self, code: str) -> Office | None:
        return self.offices.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self.offices

    def require(self, code: str) -> Office:
        office = self.offices.get(code)
        if office is None:
            raise KeyError(code)
        return office

    @property
    def triage(self) -> Office:
        return self.offices[self.triage_code]

    def kanwil_for_province(self, province_code: str) -> Office | None:
        code = self.kanwil_by_province.get(province_code)
        return None if code is None else self.offices[code]

    def kantah_for_regency(self, regency_code: str) -> Office | None:
        return self.offices.get(f"KANTAH.{regency_code}")

    def parent(self, code: str) -> Office | None:
        office = self.offices.get(code)
        if office is None or not office.parent_code:
            return None
        return self.offices[office.parent_code]

    def ancestors(self, code: str) -> list[Office]:
        """Every office above `code`, nearest first."""
        chain: list[Office] = []
        current = self.parent(code)
        while current is not None:
            chain.append(current)
            current = self.parent(current.code)
        return chain

    def is_ancestor(self, ancestor_code: str, code: str) -> bool:
        return any(office.code == ancestor_code for office in self.ancestors(code))

    def chain(self, code: str) -> tuple[str, ...]:
        """`code` and every office above it by this registry, nearest first: what routing judges
        by. A code the registry does not hold (an office since removed) is its own chain, with
        nothing above it; no office ("") has an empty chain."""
        if not code:
            return ()
        return (code, *(office.code for office in self.ancestors(code)))

    def holding_chain(self, code: str) -> tuple[str, ...]:
        """`code` and every office above it, nearest first, as the query service files a case
        (its `office_queue` rows and `office_chain` column). Derived from the code's shape, so
        that it also places codes this registry does not hold (an office opened or removed by
        another version of the data) and rows stay valid when the data changes:

        - `KANTAH.NN.MM` -> `KANWIL.<its province>` -> the Kanwil serving that province, when
          another one serves it (both count: a province's Kanwil may open later) -> triage;
        - `KANWIL.NN` -> the Kanwil serving NN, when another one serves it -> triage;
        - `PUSAT.*` -> triage;
        - anything else (not an office code) -> empty.
        """
        if not code:
            return ()
        parts = code.split(".")
        level = parts[0]
        chain = [code]
        if level == OfficeLevel.KANTAH and len(parts) == 3:
            regency = self.areas.regencies.get(f"{parts[1]}.{parts[2]}")
            province = regency.province_code if regency is not None else parts[1]
            chain.append(f"{OfficeLevel.KANWIL}.{province}")
            chain.extend(self._serving_kanwil(province))
        elif level == OfficeLevel.KANWIL:
            if len(parts) == 2:
                chain.extend(self._serving_kanwil(parts[1]))
        elif level != OfficeLevel.PUSAT:
            return ()
        chain.append(self.triage_code)
        return tuple(dict.fromkeys(chain))

    def _serving_kanwil(self, province_code: str) -> list[str]:
        serving = self.kanwil_by_province.get(province_code)
        return [] if serving is None else [serving]

    def supervisor_of(self, codes: Iterable[str]) -> Office:
        """The lowest office that supervises every office in `codes`: their lowest common
        ancestor, or its parent when that ancestor is itself one of them (it cannot supervise
        itself); the triage desk at the top."""
        wanted = [c for c in dict.fromkeys(codes) if c in self.offices]
        if not wanted:
            return self.triage
        common: list[str] | None = None
        for code in wanted:
            chain = [code, *(o.code for o in self.ancestors(code))]
            common = chain if common is None else [c for c in common if c in chain]
        assert common is not None
        for code in common:
            if code not in wanted:
                return self.offices[code]
        return self.triage

    def in_direction(self, kind: str, holder: str, to_office: str) -> bool:
        """Whether an officer's reassignment of `kind` may move a case from `holder` to
        `to_office` (docs/routing.md, "Reassignment kinds"): ESCALATE to an office above the
        holder, DELEGATE below it, TRANSFER to another office of its level, RETURN_TO_TRIAGE to
        the triage desk. Routing refuses any other move; the desk offers only these targets."""
        if to_office == holder or to_office not in self.offices:
            return False
        if kind == "ESCALATE":
            return self.is_ancestor(to_office, holder)
        if kind == "DELEGATE":
            return self.is_ancestor(holder, to_office)
        if kind == "TRANSFER":
            office = self.offices.get(holder)
            return office is not None and self.offices[to_office].level == office.level
        if kind == "RETURN_TO_TRIAGE":
            return to_office == self.triage_code
        return False

    def targets(self, kind: str, holder: str) -> list[Office]:
        """Every office `in_direction(kind, holder, ...)`, in registry order."""
        return [o for o in self.offices.values() if self.in_direction(kind, holder, o.code)]

    def list(
        self,
        *,
        level: OfficeLevel | None = None,
        parent_code: str = "",
        province_code: str = "",
    ) -> list[Office]:
        """Offices in registry order (Pusat, then Kanwil and Kantah by code), filtered."""
        found: list[Office] = []
        for office in self.offices.values():
            if level is not None and office.level != level:
                continue
            if parent_code and office.parent_code != parent_code:
                continue
            if province_code and province_code not in office.province_codes:
                continue
            found.append(office)
        return found


def _kanwil_name(province_names: list[str]) -> str:
    return f"Kantor Wilayah BPN Provinsi {province_names[0]}"


def build_registry(config: Mapping[str, Any], areas: AreaRegistry) -> OfficeRegistry:
    """The registry from the YAML document `config` and the area codes."""
    try:
        triage_code = str(config["triage_office"])
        pusat_rows = list(config["pusat"])
        served_by = {str(k): str(v) for k, v in (config.get("served_by_kanwil_of") or {}).items()}
        version = f"{config['version']}+idn-area-{config['area_data_version']}"
    except (KeyError, TypeError) as error:
        raise OfficeRegistryError(f"office registry data is missing {error}") from None

    offices: dict[str, Office] = {}
    for row in pusat_rows:
        code = str(row["code"])
        if not code.startswith("PUSAT."):
            raise OfficeRegistryError(f"Pusat unit {code!r} must be named PUSAT.<unit>")
        offices[code] = Office(
            code=code,
            level=OfficeLevel.PUSAT,
            name=str(row["name"]),
            parent_code="" if code == triage_code else triage_code,
        )
    if triage_code not in offices:
        raise OfficeRegistryError(f"triage office {triage_code!r} is not a Pusat unit")

    for province, serving in served_by.items():
        if province not in areas.provinces or serving not in areas.provinces:
            raise OfficeRegistryError(
                f"served_by_kanwil_of {province}: {serving}: unknown province"
            )
        if serving in served_by:
            raise OfficeRegistryError(
                f"province {serving} serves {province} but has no Kanwil itself"
            )

    served: dict[str, list[str]] = {}
    for province in sorted(areas.provinces):
        served.setdefault(served_by.get(province, province), []).append(province)
    kanwil_by_province: dict[str, str] = {}
    for own, provinces in served.items():
        code = f"KANWIL.{own}"
        offices[code] = Office(
            code=code,
            level=OfficeLevel.KANWIL,
            name=_kanwil_name([areas.provinces[own].name]),
            parent_code=triage_code,
            province_codes=tuple(provinces),
        )
        for province in provinces:
            kanwil_by_province[province] = code

    for regency in sorted(areas.regencies.values(), key=lambda r: r.code):
        code = f"KANTAH.{regency.code}"
        offices[code] = Office(
            code=code,
            level=OfficeLevel.KANTAH,
            name=f"Kantor Pertanahan {regency.name}",
            parent_code=kanwil_by_province[regency.province_code],
            province_codes=(regency.province_code,),
            regency_code=regency.code,
        )
    return OfficeRegistry(
        version, triage_code, offices, kanwil_by_province, areas, _oversight(config, offices)
    )


def _oversight(config: Mapping[str, Any], offices: Mapping[str, Office]) -> Oversight:
    """The `oversight` section; without one no Pusat unit oversees other offices and only
    confidential cases are sealed (data that names nobody grants nobody anything)."""
    section = config.get("oversight") or {}
    try:
        inspectorate = str(section.get("inspectorate") or "")
        overseers = tuple(str(code) for code in section.get("overseers") or ())
        categories = tuple(str(name) for name in section.get("sealed_categories") or ())
        independent = section.get("inspectorate_independent", False)
    except (AttributeError, TypeError) as error:
        raise OfficeRegistryError(f"oversight: {error}") from None
    for code in (*overseers, *([inspectorate] if inspectorate else [])):
        if offices.get(code) is None or offices[code].level != OfficeLevel.PUSAT:
            raise OfficeRegistryError(f"oversight: {code!r} is not a Pusat unit")
    if inspectorate in overseers:
        raise OfficeRegistryError(f"oversight: the inspectorate {inspectorate} oversees nobody")
    known = {category.value for category in Category}
    for name in categories:
        if name not in known:
            raise OfficeRegistryError(f"oversight: {name!r} is not a category")
    if not isinstance(independent, bool):
        raise OfficeRegistryError("oversight: inspectorate_independent must be true or false")
    if independent and not inspectorate:
        raise OfficeRegistryError("oversight: inspectorate_independent names no inspectorate")
    return Oversight(inspectorate, overseers, categories, independent)


def _packaged_text(name: str) -> str:
    return resources.files("aduan").joinpath("data", name).read_text(encoding="utf-8")


@cache
def default_registry() -> OfficeRegistry:
    return build_registry(yaml.safe_load(_packaged_text("offices.yaml")), area_registry())


# Bounded: the query service also asks about office codes that callers put in filters.
@lru_cache(maxsize=4096)
def holding_chain(office_code: str) -> tuple[str, ...]:
    """`default_registry().holding_chain(office_code)`, remembered: the query service's projector
    asks for every placement it files."""
    return default_registry().holding_chain(office_code)
