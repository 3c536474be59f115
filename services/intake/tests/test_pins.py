"""Locating WhatsApp location pins in regencies/cities: well-known places, places near a city,
the sea and the neighbours, the snap to the nearest coast, and coverage of the whole registry."""

from __future__ import annotations

import json
import math
from importlib import resources

import pytest
from shapely.geometry import shape

from aduan.reference.areas import area_registry
from aduan_intake.pins import SNAP_DEGREES, PinMatch, RegencyBoundaries


@pytest.fixture(scope="module")
def boundaries() -> RegencyBoundaries:
    return RegencyBoundaries.load_packaged()


def packaged_text() -> str:
    data = resources.files("aduan_intake").joinpath("data", "boundaries", "regencies.geojson")
    return data.read_text(encoding="utf-8")


# (place, latitude, longitude, regency code): city halls, landmarks and town centres.
LANDMARKS = [
    ("Gedung Sate, Bandung", -6.9025, 107.6187, "32.73"),
    ("Monas, Jakarta Pusat", -6.1754, 106.8272, "31.71"),
    ("Balai Kota Makassar", -5.1337, 119.4124, "73.71"),
    ("Tugu Yogyakarta", -7.7829, 110.3671, "34.71"),
    ("Jam Gadang, Bukittinggi", -0.3051, 100.3693, "13.75"),
    ("Taman Imbi, Kota Jayapura", -2.5337, 140.7181, "91.71"),
    ("Lapangan Puputan Badung, Denpasar", -8.6566, 115.2166, "51.71"),
    ("Jl. Jenderal Sudirman, Balikpapan", -1.2766, 116.8291, "64.71"),
    ("Kota Kupang", -10.1700, 123.6070, "53.71"),
    ("Lapangan Merdeka, Ambon", -3.6954, 128.1814, "81.71"),
    ("Benteng Oranje, Ternate", 0.7926, 127.3838, "82.71"),
    ("Kota Sorong", -0.8762, 131.2558, "96.71"),
    ("Merauke (Papua Selatan since 2022)", -8.4932, 140.4018, "93.01"),
    ("Masjid Raya Baiturrahman, Banda Aceh", 5.5536, 95.3174, "11.71"),
    ("Istana Maimun, Medan", 3.5752, 98.6837, "12.71"),
    ("Jembatan Ampera, Palembang", -2.9917, 104.7632, "16.71"),
    ("Kota Pontianak", -0.0263, 109.3425, "61.71"),
    ("Kota Samarinda", -0.5022, 117.1536, "64.72"),
    ("Kota Manado", 1.4748, 124.8421, "71.71"),
    ("Kota Palu", -0.8917, 119.8707, "72.71"),
    ("Kota Kendari", -3.9722, 122.5149, "74.71"),
    ("Kota Mataram", -8.5833, 116.1167, "52.71"),
    ("Kota Bandar Lampung", -5.4292, 105.2610, "18.71"),
    ("Kota Serang", -6.1200, 106.1503, "36.73"),
    ("Kota Jambi", -1.6101, 103.6131, "15.71"),
    ("Kota Bengkulu", -3.7956, 102.2592, "17.71"),
    ("Kota Pekanbaru", 0.5071, 101.4478, "14.71"),
    ("Kota Tanjung Pinang", 0.9186, 104.4554, "21.72"),
    ("Kota Pangkal Pinang", -2.1291, 106.1090, "19.71"),
    ("Kota Gorontalo", 0.5435, 123.0568, "75.71"),
    ("Mamuju, capital of Sulawesi Barat", -2.6748, 118.8885, "76.02"),
    ("Tanjung Selor, capital of Kalimantan Utara", 2.8375, 117.3652, "65.01"),
    ("Sofifi, capital of Maluku Utara (Kota Tidore Kepulauan)", 0.7375, 127.5582, "82.72"),
    ("Manokwari", -0.8615, 134.0620, "92.02"),
    ("Nabire (Papua Tengah since 2022)", -3.3660, 135.4960, "94.01"),
    ("Wamena (Papua Pegunungan since 2022)", -4.0962, 138.9514, "95.01"),
    ("Timika (Papua Tengah since 2022)", -4.5461, 136.8883, "94.04"),
    ("Sentani, Kabupaten Jayapura", -2.5636, 140.5087, "91.03"),
    ("Biak", -1.1800, 136.0820, "91.06"),
    ("Tugu Pahlawan, Surabaya", -7.2458, 112.7378, "35.78"),
    ("Lawang Sewu, Semarang", -6.9839, 110.4104, "33.74"),
    ("Alun-alun Malang", -7.9826, 112.6308, "35.73"),
    ("Keraton Surakarta", -7.5775, 110.8277, "33.72"),
    ("Kota Banjarmasin", -3.3186, 114.5944, "63.71"),
    ("Kota Palangka Raya", -2.2096, 113.9213, "62.71"),
    ("Kota Padang", -0.9492, 100.3543, "13.71"),
    ("Kota Cirebon", -6.7063, 108.5570, "32.74"),
    ("Nagoya, Batam", 1.1440, 104.0153, "21.71"),
    ("Kota Bitung", 1.4404, 125.1217, "71.72"),
    ("Labuan Bajo, Manggarai Barat", -8.4964, 119.8877, "53.15"),
]

# Places in a regency that surrounds or borders a city of (nearly) the same name.
NEAR_A_CITY = [
    ("Soreang, Kabupaten Bandung", -7.0253, 107.5196, "32.04"),
    ("Cibinong, Kabupaten Bogor", -6.4817, 106.8540, "32.01"),
    ("Kebun Raya Bogor, Kota Bogor", -6.5976, 106.7996, "32.71"),
    ("Kota Depok", -6.4025, 106.7942, "32.76"),
    ("Kota Bekasi", -6.2383, 106.9756, "32.75"),
    ("Cikarang, Kabupaten Bekasi", -6.2615, 107.1528, "32.16"),
    ("Kota Cimahi", -6.8722, 107.5425, "32.77"),
    ("Kota Tangerang", -6.1783, 106.6319, "36.71"),
    ("UIN Jakarta, Ciputat, Kota Tangerang Selatan", -6.3064, 106.7553, "36.74"),
    ("UGM, Kabupaten Sleman", -7.7700, 110.3776, "34.04"),
    ("Bantul town, Kabupaten Bantul", -7.8881, 110.3289, "34.02"),
    ("Kuta, Kabupaten Badung", -8.7180, 115.1686, "51.03"),
    ("Ubud, Kabupaten Gianyar", -8.5069, 115.2625, "51.04"),
    ("Kota Banjarbaru", -3.4420, 114.8300, "63.72"),
    # Tambrauw took these districts from Kabupaten Sorong (UU 14/2013); the upstream Sorong polygon
    # still covered them (see tools/reduce_boundaries.py CUT_BY).
    ("Sausapor district, Tambrauw", -0.5917, 132.1178, "96.04"),
    ("Fef district, Tambrauw", -0.8415, 132.4945, "96.04"),
    ("Aimas district, Kabupaten Sorong", -1.0000, 131.4273, "96.01"),
    ("Aifat district, Maybrat", -1.1115, 132.4866, "96.05"),
]

OUTSIDE = [
    ("Singapore, Marina Bay", 1.2830, 103.8600),
    ("Kuala Lumpur", 3.1390, 101.6869),
    ("Kuching, Sarawak", 1.5535, 110.3593),
    ("Dili, Timor-Leste", -8.5569, 125.5603),
    ("Port Moresby, Papua New Guinea", -9.4438, 147.1803),
    ("the middle of the Java Sea", -5.0, 110.5),
    ("the Indian Ocean off Sumatra", -10.0, 100.0),
    ("north of the Bird's Head, Pacific", -0.3, 132.0),
    ("the Equator at Greenwich", 0.0, 0.0),
]

# Just off the shore: outside every (simplified) polygon, within SNAP_DEGREES of the city's.
OFFSHORE = [
    ("Losari, Makassar Strait", -5.1440, 119.3900, "73.71"),
    ("Jakarta Bay off Ancol", -6.0900, 106.8000, "31.72"),
    ("surf off Kuta beach", -8.7205, 115.1600, "51.03"),
    ("Ambon Bay", -3.6900, 128.1600, "81.71"),
]


@pytest.mark.parametrize(
    ("place", "latitude", "longitude", "code"),
    LANDMARKS + NEAR_A_CITY,
    ids=[row[0] for row in LANDMARKS + NEAR_A_CITY],
)
def test_well_known_places_are_in_their_regency(
    boundaries: RegencyBoundaries, place: str, latitude: float, longitude: float, code: str
) -> None:
    match = boundaries.locate(latitude, longitude)
    assert match == PinMatch(code[:2], code, f"boundaries:{boundaries.version}", snapped=False)
    assert code in area_registry().regencies


def test_the_table_is_big_enough() -> None:
    assert len(LANDMARKS) >= 40
    assert len({code for *_, code in LANDMARKS + NEAR_A_CITY}) >= 55


@pytest.mark.parametrize(("place", "latitude", "longitude"), OUTSIDE, ids=[r[0] for r in OUTSIDE])
def test_the_sea_and_the_neighbours_are_not_indonesia(
    boundaries: RegencyBoundaries, place: str, latitude: float, longitude: float
) -> None:
    assert boundaries.locate(latitude, longitude) is None


@pytest.mark.parametrize(
    ("place", "latitude", "longitude", "code"), OFFSHORE, ids=[r[0] for r in OFFSHORE]
)
def test_a_pin_just_off_the_coast_snaps_to_the_nearest_regency(
    boundaries: RegencyBoundaries, place: str, latitude: float, longitude: float, code: str
) -> None:
    match = boundaries.locate(latitude, longitude)
    assert match is not None
    assert (match.regency_code, match.province_code, match.snapped) == (code, code[:2], True)


def test_every_registry_regency_has_a_polygon(boundaries: RegencyBoundaries) -> None:
    registry = area_registry()
    assert len(registry.regencies) == 514
    # No exceptions: the upstream set carries all 514 current Kemendagri codes.
    assert boundaries.regency_codes == set(registry.regencies)


def test_every_regency_locates_back_to_itself() -> None:
    """A point inside each regency's largest polygon is placed in that regency, not a neighbour."""
    boundaries = RegencyBoundaries.load_packaged()
    wrong = {}
    for feature in json.loads(packaged_text())["features"]:
        code = feature["properties"]["code"]
        largest = max(shape(feature["geometry"]).geoms, key=lambda p: p.area)
        point = largest.representative_point()
        match = boundaries.locate(point.y, point.x)
        if match is None or match.regency_code != code:
            wrong[code] = match
    assert wrong == {}


def test_the_packaged_data_loads_once_and_names_its_source() -> None:
    # How fast it loads is a benchmark (bench/b6_boundaries.py), not a test.
    loaded = RegencyBoundaries.from_geojson(packaged_text())
    assert loaded.version.startswith("wilayah_boundaries-")
    assert RegencyBoundaries.load_packaged() is RegencyBoundaries.load_packaged()


def square(code: str, x0: float, y0: float, size: float) -> dict[str, object]:
    ring = [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
    return {
        "type": "Feature",
        "properties": {"code": code},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def test_snapping_stops_at_the_tolerance_and_overlaps_go_to_the_deeper_regency() -> None:
    # 11.01 spans x 100..101, 11.02 spans x 100.9..102 (they overlap by 0.1 in x), y 0..1.
    text = json.dumps(
        {
            "type": "FeatureCollection",
            "aduan": {"version": "test-1"},
            "features": [square("11.01", 100.0, 0.0, 1.0), square("11.02", 100.9, 0.0, 1.1)],
        }
    )
    boundaries = RegencyBoundaries.from_geojson(text)
    assert boundaries.version == "test-1"
    inside = boundaries.locate(0.5, 100.5)
    assert inside == PinMatch("11", "11.01", "boundaries:test-1", snapped=False)
    # In the overlap, nearer 11.02's interior (farther from its edge) than 11.01's.
    deeper = boundaries.locate(0.5, 100.97)
    assert deeper is not None
    assert deeper.regency_code == "11.02"
    near = boundaries.locate(0.5, 100.0 - SNAP_DEGREES / 2)
    assert near == PinMatch("11", "11.01", "boundaries:test-1", snapped=True)
    assert boundaries.locate(0.5, 100.0 - SNAP_DEGREES * 1.5) is None
    assert boundaries.locate(-SNAP_DEGREES / 2, 101.5) == PinMatch(
        "11", "11.02", "boundaries:test-1", snapped=True
    )


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(math.nan, 106.8), (-6.2, math.inf), (91.0, 106.8), (-6.2, 181.0)],
)
def test_a_non_coordinate_is_rejected(
    boundaries: RegencyBoundaries, latitude: float, longitude: float
) -> None:
    with pytest.raises(ValueError, match="latitude"):
        boundaries.locate(latitude, longitude)
