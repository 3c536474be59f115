"""Reduce the upstream regency boundaries to the GeoJSON that `aduan_intake.pins` ships.

Upstream: github.com/cahyadsn/wilayah_boundaries (MIT), files `db/kab/wilayah_boundaries_kab_NN.sql`,
one SQL `INSERT` row per regency/city: `('32.73','Kota Bandung',lat,lng,'<path>')` where `<path>` is
JSON rings of `[lat, lng]` pairs (a Polygon's rings, or a list of Polygons).

What this does, per regency:
1. parse the row, swap each pair to `(lng, lat)`, build a MultiPolygon;
2. `shapely.make_valid` (about a quarter of the upstream shapes self-intersect) and keep the polygons;
   cut the regencies in CUT_BY by their neighbours, and stop on any other overlap over MAX_OVERLAP;
3. `simplify(TOLERANCE, preserve_topology=True)` (Douglas-Peucker that never breaks a ring);
4. `shapely.set_precision(grid=10**-DECIMALS)`: snaps every vertex to that grid, keeps the geometry
   valid and drops parts that collapse (islets smaller than the grid);
5. check the code and name against the official registry (`aduan/data/idn-area/regencies.csv`).

Output: one GeoJSON FeatureCollection, one Feature per regency, `properties = {"code": "NN.NN"}`,
plus a foreign member `"aduan"` with the version, source and reduction parameters.

Usage (the raw data stays outside the repository):
    git -C <mirror> show <commit>:db/kab/wilayah_boundaries_kab_32.sql > /tmp/raw/...   # all 38 files
    uv run --frozen python services/intake/tools/reduce_boundaries.py \
        --raw-dir /tmp/raw --commit <40-hex commit> --date YYYY-MM-DD
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import unicodedata
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon

TOLERANCE = 0.002  # degrees (~220 m)
# Upstream regencies whose polygon still covers land a newer regency took. Each is cut by the listed
# neighbours. 96.01 Kabupaten Sorong is drawn with its pre-2013 extent: it overlaps 96.04 Tambrauw
# (0.41 square degrees: Fef, Sausapor, Moraid, Kwoor, Abun, ...) and 96.05 Maybrat (0.03), and the
# upstream kecamatan layer (db/kec/wilayah_boundaries_kec_96.sql) puts all of that in Tambrauw and
# Maybrat, none in Sorong.
CUT_BY = {"96.01": ("96.04", "96.05")}
# Any other overlap between two regencies larger than this stops the run: look at it, then extend CUT_BY.
MAX_OVERLAP = 0.002  # square degrees (~25 km2); upstream border slivers are below 0.001
DECIMALS = 4  # ~11 m
REPO = "cahyadsn/wilayah_boundaries"
ROOT = Path(__file__).resolve().parents[3]
REGISTRY = ROOT / "libs/aduan-platform/src/aduan/data/idn-area/regencies.csv"
OUT = ROOT / "services/intake/src/aduan_intake/data/boundaries/regencies.geojson"

ROW = re.compile(
    r"^\s*\('(?P<code>\d\d\.\d\d)','(?P<name>(?:[^']|'')*)',"
    r"(?P<lat>[-\d.eE]+),(?P<lng>[-\d.eE]+),'(?P<path>.*)'\)[,;]\s*$"
)


def normalise(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"^(kabupaten|kab\.?|kota)\s+", "", text)
    return re.sub(r"[^a-z0-9]", "", text)


def parse(raw_dir: Path) -> dict[str, tuple[str, MultiPolygon]]:
    rows: dict[str, tuple[str, MultiPolygon]] = {}
    files = sorted(raw_dir.glob("wilayah_boundaries_kab_*.sql"))
    if len(files) != 38:
        sys.exit(f"expected the 38 province files in {raw_dir}, found {len(files)}")
    for file in files:
        for line in file.read_text(encoding="utf-8").splitlines():
            match = ROW.match(line)
            if match is None:
                continue
            path: Any = json.loads(match["path"])
            if isinstance(path[0][0][0], (int, float)):  # one Polygon: [ring, ...]
                path = [path]
            polygons = [
                Polygon(
                    [(pt[1], pt[0]) for pt in rings[0]],
                    [[(pt[1], pt[0]) for pt in ring] for ring in rings[1:]],
                )
                for rings in path
            ]
            code = match["code"]
            if code in rows:
                sys.exit(f"duplicate code {code} in {file.name}")
            rows[code] = (match["name"].replace("''", "'"), MultiPolygon(polygons))
    return rows


def polygons_of(geometry: Any) -> list[Polygon]:
    """The non-empty polygons in `geometry`, however nested (make_valid can return a
    GeometryCollection holding a MultiPolygon and stray lines)."""
    if isinstance(geometry, Polygon):
        return [] if geometry.is_empty else [geometry]
    if hasattr(geometry, "geoms"):
        return [p for part in geometry.geoms for p in polygons_of(part)]
    return []


def repair(rows: dict[str, tuple[str, MultiPolygon]]) -> dict[str, MultiPolygon]:
    """make_valid every regency, apply CUT_BY, and refuse any remaining large overlap."""
    valid = {
        code: MultiPolygon(polygons_of(shapely.make_valid(g))) for code, (_, g) in rows.items()
    }
    for code, neighbours in CUT_BY.items():
        cut = valid[code].difference(shapely.union_all([valid[n] for n in neighbours]))
        valid[code] = MultiPolygon(polygons_of(cut))
    codes = sorted(valid)
    geometries = [valid[c] for c in codes]
    left, right = shapely.STRtree(geometries).query(geometries, predicate="intersects")
    for i, j in zip(left, right, strict=True):
        if i < j:
            overlap = geometries[i].intersection(geometries[j]).area
            if overlap > MAX_OVERLAP:
                sys.exit(f"{codes[i]} and {codes[j]} overlap by {overlap:.4f} square degrees")
    return valid


def reduce(valid: MultiPolygon) -> MultiPolygon:
    simple = valid.simplify(TOLERANCE, preserve_topology=True)
    snapped = shapely.set_precision(simple, 10**-DECIMALS)
    return MultiPolygon(polygons_of(snapped))


def ring(coords: Any) -> list[list[float]]:
    return [[round(x, DECIMALS), round(y, DECIMALS)] for x, y in coords]


def to_geojson(geometry: MultiPolygon) -> dict[str, Any]:
    polys = [
        [ring(p.exterior.coords), *(ring(i.coords) for i in p.interiors)] for p in geometry.geoms
    ]
    return {"type": "MultiPolygon", "coordinates": polys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw-dir", type=Path, required=True)
    parser.add_argument("--commit", required=True, help="upstream commit the files came from")
    parser.add_argument("--date", required=True, help="upstream commit date, YYYY-MM-DD")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    with REGISTRY.open(encoding="utf-8") as f:
        registry = {row["code"]: row["name"] for row in csv.DictReader(f)}
    rows = parse(args.raw_dir)

    missing = sorted(set(registry) - set(rows))
    extra = sorted(set(rows) - set(registry))
    renamed = [
        f"{code}: registry {registry[code]!r}, upstream {rows[code][0]!r}"
        for code in sorted(set(rows) & set(registry))
        if normalise(registry[code]) != normalise(rows[code][0])
    ]
    repaired = repair(rows)
    features = []
    vertices_in = vertices_out = parts_out = 0
    for code in sorted(set(rows) & set(registry)):
        source = rows[code][1]
        reduced = reduce(repaired[code])
        if reduced.is_empty:
            sys.exit(f"{code} vanished in the reduction")
        vertices_in += shapely.get_num_coordinates(source)
        vertices_out += shapely.get_num_coordinates(reduced)
        parts_out += len(reduced.geoms)
        features.append(
            {"type": "Feature", "properties": {"code": code}, "geometry": to_geojson(reduced)}
        )
    short = args.commit[:7]
    collection = {
        "type": "FeatureCollection",
        "aduan": {
            "version": f"wilayah_boundaries-{args.date}-{short}",
            "source": f"https://github.com/{REPO} commit {args.commit} ({args.date}), db/kab/*.sql",
            "license": "MIT (c) 2024 Cahya DSN; codes: idn-area-data contributors, Kemendagri, ODbL 1.0",
            "reduction": f"make_valid, cut {CUT_BY}, simplify({TOLERANCE}, preserve_topology), grid 1e-{DECIMALS}",
        },
        "features": features,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # One feature a line, so that a data update diffs per regency.
    head = json.dumps({**collection, "features": []}, separators=(",", ":"), ensure_ascii=False)
    lines = [json.dumps(f, separators=(",", ":")) for f in features]
    text = head[: -len("]}")] + "\n" + ",\n".join(lines) + "\n]}\n"
    json.loads(text)
    args.out.write_text(text, encoding="utf-8")
    print(f"regencies: {len(features)} written, registry {len(registry)}")
    print(f"missing from upstream: {missing or 'none'}; not in registry: {extra or 'none'}")
    print("names that differ after normalisation:", *(renamed or ["none"]), sep="\n  ")
    print(f"vertices {vertices_in} -> {vertices_out}; polygons {parts_out}")
    print(f"{args.out}: {len(text.encode()) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
