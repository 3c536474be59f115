"""Which regency/city (kabupaten/kota) contains a WhatsApp location pin, offline.

The boundaries are `data/boundaries/regencies.geojson`: one MultiPolygon per regency of the official
registry (`aduan.reference.areas`, Kemendagri codes), reduced from an openly licensed set (MIT; see
`data/boundaries/SOURCE.md` and docs/pins.md). Every polygon part goes into one STRtree.

`locate(latitude, longitude)`:
1. the parts that contain the point (or have it on their edge). Upstream neighbours overlap a
   little and the simplification adds slivers, so where parts of two regencies both contain the
   point the one it lies deepest in (farthest from that part's boundary) wins;
2. else the nearest part within `SNAP_DEGREES` (0.02 degrees, about 2.2 km): a pin on a pier, a
   boat by the shore, or in a gap the simplification opened between neighbours. `PinMatch.snapped`
   says so;
3. else None: at sea or outside Indonesia.

Domain code: no transport imports.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import shapely  # type: ignore[import-untyped]  # shapely ships no type hints

# How far (in degrees) a pin outside every polygon may be from the nearest one and still be placed there.
SNAP_DEGREES = 0.02


@dataclass(frozen=True)
class PinMatch:
    province_code: str  # "NN"
    regency_code: str  # "NN.NN"
    source: str  # "boundaries:<version of the data set>"
    snapped: bool = False  # outside every polygon, placed in the nearest within SNAP_DEGREES


class RegencyBoundaries:
    """Regency polygons in an STRtree. Build with `load_packaged()` (cached) or `from_geojson`."""

    def __init__(self, version: str, parts: list[tuple[str, Any]]) -> None:
        if not parts:
            raise ValueError("no boundaries")
        self.version = version
        self._source = f"boundaries:{version}"
        self._codes = [code for code, _ in parts]
        self._parts: Any = [polygon for _, polygon in parts]
        self._tree: Any = shapely.STRtree(self._parts)
        xmin, ymin, xmax, ymax = (float(v) for v in shapely.total_bounds(self._parts))
        self._bounds = (
            xmin - SNAP_DEGREES,
            ymin - SNAP_DEGREES,
            xmax + SNAP_DEGREES,
            ymax + SNAP_DEGREES,
        )

    @classmethod
    def from_geojson(cls, text: str) -> RegencyBoundaries:
        """A FeatureCollection of (Multi)Polygons with `properties.code` = "NN.NN" and the data
        set's version in the foreign member `aduan.version`."""
        document: dict[str, Any] = json.loads(text)
        version = str(document.get("aduan", {}).get("version", "unversioned"))
        parts: list[tuple[str, Any]] = []
        for feature in document["features"]:
            code = str(feature["properties"]["code"])
            geometry = feature["geometry"]
            polygons = (
                [geometry["coordinates"]]
                if geometry["type"] == "Polygon"
                else geometry["coordinates"]
            )
            parts.extend((code, shapely.Polygon(rings[0], rings[1:])) for rings in polygons)
        return cls(version, parts)

    @classmethod
    def load_packaged(cls) -> RegencyBoundaries:
        """The boundaries shipped with this package, parsed once per process (about 0.3 s)."""
        return _packaged()

    @property
    def regency_codes(self) -> frozenset[str]:
        return frozenset(self._codes)

    def locate(self, latitude: float, longitude: float) -> PinMatch | None:
        """The regency containing the point, the nearest within SNAP_DEGREES, or None.
        Raises ValueError for a latitude/longitude that is not a coordinate on Earth."""
        if not (math.isfinite(latitude) and math.isfinite(longitude)):
            raise ValueError("latitude and longitude must be finite numbers")
        if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
            raise ValueError("latitude must be within [-90, 90] and longitude within [-180, 180]")
        xmin, ymin, xmax, ymax = self._bounds
        if not (xmin <= longitude <= xmax and ymin <= latitude <= ymax):
            return None
        point = shapely.Point(longitude, latitude)
        hits = [int(i) for i in self._tree.query(point, predicate="intersects")]
        if hits:
            return self._match(self._deepest(point, hits), snapped=False)
        nearest, distances = self._tree.query_nearest(
            point, max_distance=SNAP_DEGREES, return_distance=True, all_matches=True
        )
        if len(nearest) == 0:
            return None
        candidates = sorted(
            (float(d), self._codes[int(i)]) for i, d in zip(nearest, distances, strict=True)
        )
        return self._match(candidates[0][1], snapped=True)

    def _deepest(self, point: Any, hits: list[int]) -> str:
        codes = {self._codes[i] for i in hits}
        if len(codes) == 1:
            return codes.pop()
        depth: dict[str, float] = {}
        for i in hits:
            inside = float(shapely.distance(point, self._parts[i].boundary))
            depth[self._codes[i]] = max(depth.get(self._codes[i], 0.0), inside)
        return min(depth, key=lambda code: (-depth[code], code))

    def _match(self, code: str, *, snapped: bool) -> PinMatch:
        return PinMatch(code.split(".")[0], code, self._source, snapped)


@cache
def _packaged() -> RegencyBoundaries:
    data = resources.files("aduan_intake").joinpath("data", "boundaries", "regencies.geojson")
    return RegencyBoundaries.from_geojson(data.read_text(encoding="utf-8"))
