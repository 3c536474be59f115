"""Indonesia's three time zones, the zone of each province and office, and how a moment is written
for a citizen or an officer: "27 Maret 2026 pukul 23.59 WIB" / "27 March 2026, 23:59 WIB", and in an auditor's tables
"2026-03-27 23:59 WIB".

- WIB (Waktu Indonesia Barat), Asia/Jakarta, UTC+7: Sumatra, Java, Kalimantan Barat and Tengah.
- WITA (Waktu Indonesia Tengah), Asia/Makassar, UTC+8: Bali, Nusa Tenggara, Kalimantan Selatan,
  Timur and Utara, Sulawesi.
- WIT (Waktu Indonesia Timur), Asia/Jayapura, UTC+9: Maluku and Papua.

Offices are named by code: "KANTAH.<province>.<regency>" and "KANWIL.<province>" are in their
province's zone; Pusat units ("PUSAT.<unit>", Jakarta) are in WIB. Province codes are Kemendagri's,
as in `aduan/data/idn-area/provinces.csv` (the tests check that every province there has a zone).

Transport-free. Indonesia observes no daylight-saving time, so when the system has no time zone
database (a slim container without tzdata) the zones fall back to their fixed UTC offsets, which
are exact for any present-day moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class UnknownZoneError(ValueError):
    """A province or office code whose time zone is not known."""


@dataclass(frozen=True)
class IndonesianZone:
    abbreviation: str  # "WIB", "WITA", "WIT": written after every time
    key: str  # IANA name
    utc_offset_hours: int

    @property
    def tzinfo(self) -> tzinfo:
        return _tzinfo(self.key, self.utc_offset_hours)


WIB = IndonesianZone("WIB", "Asia/Jakarta", 7)
WITA = IndonesianZone("WITA", "Asia/Makassar", 8)
WIT = IndonesianZone("WIT", "Asia/Jayapura", 9)
ZONES = (WIB, WITA, WIT)

# The one table of which province keeps which time (Kemendagri province code -> zone).
PROVINCE_ZONES: dict[str, IndonesianZone] = {
    "11": WIB,  # Aceh
    "12": WIB,  # Sumatera Utara
    "13": WIB,  # Sumatera Barat
    "14": WIB,  # Riau
    "15": WIB,  # Jambi
    "16": WIB,  # Sumatera Selatan
    "17": WIB,  # Bengkulu
    "18": WIB,  # Lampung
    "19": WIB,  # Kepulauan Bangka Belitung
    "21": WIB,  # Kepulauan Riau
    "31": WIB,  # DKI Jakarta
    "32": WIB,  # Jawa Barat
    "33": WIB,  # Jawa Tengah
    "34": WIB,  # DI Yogyakarta
    "35": WIB,  # Jawa Timur
    "36": WIB,  # Banten
    "51": WITA,  # Bali
    "52": WITA,  # Nusa Tenggara Barat
    "53": WITA,  # Nusa Tenggara Timur
    "61": WIB,  # Kalimantan Barat
    "62": WIB,  # Kalimantan Tengah
    "63": WITA,  # Kalimantan Selatan
    "64": WITA,  # Kalimantan Timur
    "65": WITA,  # Kalimantan Utara
    "71": WITA,  # Sulawesi Utara
    "72": WITA,  # Sulawesi Tengah
    "73": WITA,  # Sulawesi Selatan
    "74": WITA,  # Sulawesi Tenggara
    "75": WITA,  # Gorontalo
    "76": WITA,  # Sulawesi Barat
    "81": WIT,  # Maluku
    "82": WIT,  # Maluku Utara
    "91": WIT,  # Papua
    "92": WIT,  # Papua Barat
    "93": WIT,  # Papua Selatan
    "94": WIT,  # Papua Tengah
    "95": WIT,  # Papua Pegunungan
    "96": WIT,  # Papua Barat Daya
}
# Pusat units sit in Jakarta.
PUSAT_ZONE = WIB

MONTHS = {
    "id": (
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}


@cache
def _tzinfo(key: str, utc_offset_hours: int) -> tzinfo:
    try:
        return ZoneInfo(key)
    except ZoneInfoNotFoundError:
        return timezone(timedelta(hours=utc_offset_hours), key)


def province_zone(province_code: str) -> IndonesianZone:
    """The zone of a province ("32" -> WIB); UnknownZoneError for a code not in the table."""
    zone = PROVINCE_ZONES.get(province_code.strip())
    if zone is None:
        raise UnknownZoneError(f"no time zone for province {province_code!r}")
    return zone


def office_zone(office_code: str) -> IndonesianZone:
    """The zone of an office: "KANTAH.32.73" and "KANWIL.32" by their province, "PUSAT.*" WIB.
    UnknownZoneError for anything else (an empty code, an unknown province)."""
    parts = office_code.strip().split(".")
    if parts[0] == "PUSAT" and len(parts) == 2 and parts[1]:
        return PUSAT_ZONE
    if (parts[0] == "KANWIL" and len(parts) == 2) or (parts[0] == "KANTAH" and len(parts) == 3):
        try:
            return province_zone(parts[1])
        except UnknownZoneError:
            pass
    raise UnknownZoneError(f"no time zone for office {office_code!r}")


def zone_of_offset(offset: timedelta | None) -> IndonesianZone | None:
    """The Indonesian zone with this UTC offset (+7, +8, +9 hours), or None."""
    for zone in ZONES:
        if offset == timedelta(hours=zone.utc_offset_hours):
            return zone
    return None


def format_in_zone(moment: datetime, zone: IndonesianZone, language: str) -> str:
    """`moment` (timezone-aware) as local time of `zone`: "27 Maret 2026 pukul 23.59 WIB" (id),
    "27 March 2026, 23:59 WIB" (en). Seconds are not shown."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no UTC offset")
    months = MONTHS.get(language)
    if months is None:
        raise ValueError(f"language must be one of {sorted(MONTHS)}")
    local = moment.astimezone(zone.tzinfo)
    date = f"{local.day} {months[local.month - 1]} {local.year}"
    if language == "id":
        return f"{date} pukul {local.hour:02d}.{local.minute:02d} {zone.abbreviation}"
    return f"{date}, {local.hour:02d}:{local.minute:02d} {zone.abbreviation}"


def format_compact(moment: datetime, zone: IndonesianZone) -> str:
    """`moment` (timezone-aware) as local time of `zone` for tables and reports, sortable and the
    same in every language: "2026-03-02 14:05 WITA". Seconds are not shown."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no UTC offset")
    return f"{moment.astimezone(zone.tzinfo):%Y-%m-%d %H:%M} {zone.abbreviation}"


def format_local(moment: datetime, office_code: str, language: str) -> str:
    """`moment` in the time of the office's zone (see `format_in_zone`); UnknownZoneError for an
    office code without a zone, ValueError for a naive moment or an unknown language."""
    return format_in_zone(moment, office_zone(office_code), language)
