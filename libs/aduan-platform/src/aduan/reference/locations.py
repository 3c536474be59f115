"""Where the land a complaint is about lies: a province and a regency, as codes of the area
registry (`aduan.reference.areas`), and the address the reporter wrote. Intake files complaints with it and
routing places cases by it, so both speak of one value. Transport-free."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where the land a complaint is about lies (codes of the area registry, `aduan.reference.areas`)."""

    province_code: str = ""
    regency_code: str = ""
    address: str = ""

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> Location:
        """From the fields a stored event carries (events store plain mappings: the published
        payload and the hash chain depend on their exact bytes)."""
        return cls(
            province_code=fields.get("province_code", ""),
            regency_code=fields.get("regency_code", ""),
            address=fields.get("address", ""),
        )

    def fields(self) -> dict[str, str]:
        """The mapping a stored event carries, keys in the order events have always stored."""
        return {
            "province_code": self.province_code,
            "regency_code": self.regency_code,
            "address": self.address,
        }
