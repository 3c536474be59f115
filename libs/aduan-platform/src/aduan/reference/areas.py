"""The official registry of provinces and regencies/cities (Kemendagri codes, ODbL; see
`aduan/data/idn-area/NOTICE.md`). Transport-free; used by intake's validation and routing's
office registry."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Province:
    code: str  # "NN"
    name: str


@dataclass(frozen=True)
class Regency:
    code: str  # "NN.NN"
    province_code: str
    name: str


@dataclass(frozen=True)
class AreaRegistry:
    provinces: dict[str, Province]
    regencies: dict[str, Regency]

    def regencies_of(self, province_code: str) -> list[Regency]:
        return [r for r in self.regencies.values() if r.province_code == province_code]


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("aduan").joinpath("data", "idn-area", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def area_registry() -> AreaRegistry:
    provinces = {row["code"]: Province(row["code"], row["name"]) for row in _rows("provinces.csv")}
    regencies = {
        row["code"]: Regency(row["code"], row["province_code"], row["name"])
        for row in _rows("regencies.csv")
    }
    return AreaRegistry(provinces, regencies)
