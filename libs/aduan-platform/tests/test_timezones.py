"""Time zones: every province has one, offices take their province's, and a moment is written in
the office's local time with Indonesian or English month names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from aduan.reference import timezones
from aduan.reference.areas import area_registry
from aduan.reference.timezones import (
    PROVINCE_ZONES,
    WIB,
    WIT,
    WITA,
    UnknownZoneError,
    format_in_zone,
    format_local,
    office_zone,
    province_zone,
    zone_of_offset,
)

EXPECTED = {
    WIB: {
        "11",
        "12",
        "13",
        "14",
        "15",
        "16",
        "17",
        "18",
        "19",
        "21",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "61",
        "62",
    },
    WITA: {"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"},
    WIT: {"81", "82", "91", "92", "93", "94", "95", "96"},
}
ALL_PROVINCES = sorted(area_registry().provinces)


def test_the_zone_table_covers_exactly_the_registered_provinces() -> None:
    assert sorted(PROVINCE_ZONES) == ALL_PROVINCES
    assert set().union(*EXPECTED.values()) == set(ALL_PROVINCES)


@pytest.mark.parametrize("province", ALL_PROVINCES)
def test_each_province_has_its_zone(province: str) -> None:
    [expected] = [zone for zone, codes in EXPECTED.items() if province in codes]
    assert province_zone(province) is expected
    assert office_zone(f"KANWIL.{province}") is expected
    for regency in area_registry().regencies_of(province):
        assert office_zone(f"KANTAH.{regency.code}") is expected


def test_zone_keys_and_offsets() -> None:
    assert [(z.abbreviation, z.key, z.utc_offset_hours) for z in timezones.ZONES] == [
        ("WIB", "Asia/Jakarta", 7),
        ("WITA", "Asia/Makassar", 8),
        ("WIT", "Asia/Jayapura", 9),
    ]
    moment = datetime(2026, 3, 27, tzinfo=UTC)
    for zone in timezones.ZONES:
        assert moment.astimezone(zone.tzinfo).utcoffset() == timedelta(hours=zone.utc_offset_hours)


def test_pusat_units_are_in_jakarta_time() -> None:
    assert office_zone("PUSAT.IP3") is WIB
    assert office_zone("PUSAT.HAK_TANAH") is WIB


@pytest.mark.parametrize(
    "code",
    ["", "KANTAH", "KANTAH.32", "KANWIL.99", "KANTAH.99.01", "KANWIL.32.73", "PUSAT.", "X.1"],
)
def test_unknown_offices_have_no_zone(code: str) -> None:
    with pytest.raises(UnknownZoneError):
        office_zone(code)
    with pytest.raises(UnknownZoneError):
        format_local(datetime(2026, 3, 27, tzinfo=UTC), code, "id")


def test_unknown_provinces_have_no_zone() -> None:
    with pytest.raises(UnknownZoneError):
        province_zone("20")


# 2026-03-27 16:59 UTC is 23:59 in Jakarta, 00:59 the next day in Makassar, 01:59 in Jayapura.
MOMENT = datetime(2026, 3, 27, 16, 59, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("office", "indonesian", "english"),
    [
        ("KANTAH.32.73", "27 Maret 2026 pukul 23.59 WIB", "27 March 2026, 23:59 WIB"),
        ("PUSAT.IP3", "27 Maret 2026 pukul 23.59 WIB", "27 March 2026, 23:59 WIB"),
        ("KANTAH.73.71", "28 Maret 2026 pukul 00.59 WITA", "28 March 2026, 00:59 WITA"),
        ("KANWIL.64", "28 Maret 2026 pukul 00.59 WITA", "28 March 2026, 00:59 WITA"),
        ("KANWIL.51", "28 Maret 2026 pukul 00.59 WITA", "28 March 2026, 00:59 WITA"),
        ("KANTAH.91.71", "28 Maret 2026 pukul 01.59 WIT", "28 March 2026, 01:59 WIT"),
        ("KANWIL.82", "28 Maret 2026 pukul 01.59 WIT", "28 March 2026, 01:59 WIT"),
    ],
)
def test_a_moment_in_the_office_zone_crossing_midnight(
    office: str, indonesian: str, english: str
) -> None:
    assert format_local(MOMENT, office, "id") == indonesian
    assert format_local(MOMENT, office, "en") == english


def test_the_offset_of_the_input_does_not_matter() -> None:
    in_jakarta = MOMENT.astimezone(timezone(timedelta(hours=7)))
    assert format_local(in_jakarta, "KANTAH.73.71", "id") == "28 Maret 2026 pukul 00.59 WITA"


def test_the_year_turns_in_the_east_first() -> None:
    moment = datetime(2026, 12, 31, 15, 30, tzinfo=UTC)
    assert format_local(moment, "KANTAH.31.71", "id") == "31 Desember 2026 pukul 22.30 WIB"
    assert format_local(moment, "KANTAH.91.71", "id") == "1 Januari 2027 pukul 00.30 WIT"
    assert format_local(moment, "KANTAH.91.71", "en") == "1 January 2027, 00:30 WIT"


@pytest.mark.parametrize(
    ("month", "indonesian", "english"),
    list(
        zip(
            range(1, 13),
            timezones.MONTHS["id"],
            timezones.MONTHS["en"],
            strict=True,
        )
    ),
)
def test_month_names(month: int, indonesian: str, english: str) -> None:
    moment = datetime(2026, month, 5, 2, 7, tzinfo=UTC)
    assert format_in_zone(moment, WIB, "id") == f"5 {indonesian} 2026 pukul 09.07 WIB"
    assert format_in_zone(moment, WIB, "en") == f"5 {english} 2026, 09:07 WIB"


def test_indonesian_month_names_are_indonesian() -> None:
    assert timezones.MONTHS["id"][2] == "Maret"
    assert timezones.MONTHS["id"][4] == "Mei"
    assert timezones.MONTHS["id"][7] == "Agustus"


def test_a_naive_moment_or_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        format_local(datetime(2026, 3, 27, 12, 0), "KANTAH.32.73", "id")
    with pytest.raises(ValueError, match="language"):
        format_local(MOMENT, "KANTAH.32.73", "fr")


def test_zone_of_offset() -> None:
    assert zone_of_offset(timedelta(hours=7)) is WIB
    assert zone_of_offset(timedelta(hours=8)) is WITA
    assert zone_of_offset(timedelta(hours=9)) is WIT
    assert zone_of_offset(timedelta(0)) is None
    assert zone_of_offset(None) is None


def test_without_a_zone_database_the_fixed_offsets_are_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(key: str) -> None:
        raise timezones.ZoneInfoNotFoundError(key)

    timezones._tzinfo.cache_clear()
    monkeypatch.setattr(timezones, "ZoneInfo", missing)
    try:
        assert format_local(MOMENT, "KANTAH.91.71", "id") == "28 Maret 2026 pukul 01.59 WIT"
    finally:
        timezones._tzinfo.cache_clear()


@pytest.mark.parametrize(
    ("office", "shown"),
    [
        ("PUSAT.IP3", "2026-03-27 23:59 WIB"),
        ("KANTAH.73.71", "2026-03-28 00:59 WITA"),
        ("KANWIL.94", "2026-03-28 01:59 WIT"),
    ],
)
def test_the_compact_form_of_the_auditors_tables(office: str, shown: str) -> None:
    assert timezones.format_compact(MOMENT, timezones.office_zone(office)) == shown


def test_the_compact_form_needs_a_zoned_moment() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        timezones.format_compact(datetime(2026, 3, 27, 16, 59), timezones.WIB)
