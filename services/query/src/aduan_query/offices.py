"""The office hierarchy as the query service needs it: which offices a holding office sits under.

Offices are identified by code: "PUSAT.<unit>", "KANWIL.<province>", "KANTAH.<province>.<regency>".
The chain is derived from the code itself plus `aduan.reference.areas.area_registry()`, so the query service
needs no copy of routing's office registry:

- KANTAH.NN.MM -> KANWIL.NN -> the Pusat triage desk (routing's escalation chain).
- Provinces split off recently (Kalimantan Utara 65; the Papua provinces 93..96; 97 reserved) may
  have no Kanwil of their own: routing's office data places their Kantah under the Kanwil of the
  province they were split from. The query service does not depend on that choice: both
  KANWIL.<own code> and KANWIL.<parent code> count as ancestors, so either Kanwil's "including
  descendants" queue contains them, whichever office routing names in its events.
- Every KANWIL and every other Pusat unit sits under the Pusat triage desk (PUSAT.IP3), the root.
"""

from __future__ import annotations

from functools import cache

from aduan.reference.areas import area_registry

TRIAGE_OFFICE = "PUSAT.IP3"

# Provinces split from another; their Kantah may report to the Kanwil of the parent province.
SPLIT_PROVINCE_PARENTS: dict[str, str] = {
    "65": "64",  # Kalimantan Utara
    "93": "91",  # Papua Selatan
    "94": "91",  # Papua Tengah
    "95": "91",  # Papua Pegunungan
    "96": "92",  # Papua Barat Daya
    "97": "92",  # reserved for a future split; harmless when unused
}


def province_of(office_code: str) -> str:
    """Province code of a Kanwil or Kantah; empty for Pusat units and unknown codes."""
    parts = office_code.split(".")
    if parts[0] in {"KANWIL", "KANTAH"} and len(parts) >= 2:
        return parts[1]
    return ""


@cache
def ancestors(office_code: str) -> tuple[str, ...]:
    """The office itself followed by every office above it, nearest first."""
    if not office_code:
        return ()
    parts = office_code.split(".")
    level = parts[0]
    chain: list[str] = [office_code]
    if level == "KANTAH" and len(parts) == 3:
        regency = area_registry().regencies.get(f"{parts[1]}.{parts[2]}")
        province = regency.province_code if regency is not None else parts[1]
        chain.append(f"KANWIL.{province}")
        parent = SPLIT_PROVINCE_PARENTS.get(province)
        if parent is not None:
            chain.append(f"KANWIL.{parent}")
        chain.append(TRIAGE_OFFICE)
    elif level == "KANWIL":
        parent = SPLIT_PROVINCE_PARENTS.get(parts[1]) if len(parts) == 2 else None
        if parent is not None:
            chain.append(f"KANWIL.{parent}")
        chain.append(TRIAGE_OFFICE)
    elif level == "PUSAT":
        chain.append(TRIAGE_OFFICE)
    else:
        return ()
    return tuple(dict.fromkeys(chain))


def chain_text(office_code: str) -> str:
    """Ancestors as "|A|B|C|", so that "office X or below" is `LIKE '%|X|%'` in any SQL dialect."""
    chain = ancestors(office_code)
    return "|" + "|".join(chain) + "|" if chain else ""
