"""The supervisor's view (`/offices`, docs/desk.md): the office and the offices directly below it
with their KPIs, a weekly trend and a tile map, all from query's `GetStats` (office KPIs, rolled
up) asked with the user's token. Every figure is the query service's; this module only picks the
rows to show, places them on the map and scales the trend's drawing. It decides nothing about who
may see what: query answers, or refuses, for the token.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

from google.protobuf.duration_pb2 import Duration

from aduan.reference.offices import OfficeLevel, OfficeRegistry
from aduan.v1 import common_pb2, query_pb2
from aduan_desk.backend import timestamp

# The period selector: the last N weeks up to now; the trend has one point per week.
PERIOD_WEEKS = (4, 8, 13)
DEFAULT_WEEKS = 4
# Colour bands of SLA compliance on the map (and their legend).
GOOD, FAIR = 0.9, 0.75
TILE, GAP = 44, 4
TREND_WIDTH, TREND_HEIGHT, TREND_PAD = 640, 180, 28


def stats_request(
    office: str, start: datetime, end: datetime, as_of: datetime | None = None
) -> query_pb2.GetStatsRequest:
    """Office KPIs at or below `office` for [start, end), each office's row rolled up (its own
    figures and those of the offices below it)."""
    request = query_pb2.GetStatsRequest(
        period=common_pb2.TimeRange(start=timestamp(start), end=timestamp(end)),
        office_code=office,
        office_kpis=True,
        roll_up=True,
    )
    if as_of is not None:
        request.as_of.CopyFrom(timestamp(as_of))
    return request


def weeks(now: datetime, count: int) -> list[tuple[datetime, datetime]]:
    """`count` consecutive weeks ending now, oldest first."""
    return [
        (now - timedelta(weeks=count - i), now - timedelta(weeks=count - i - 1))
        for i in range(count)
    ]


def band(compliance: float | None) -> str:
    if compliance is None:
        return "none"
    if compliance >= GOOD:
        return "good"
    return "fair" if compliance >= FAIR else "poor"


def _span(message: query_pb2.OfficeKpis, name: str) -> timedelta | None:
    if not message.HasField(name):
        return None
    value: Duration = getattr(message, name)
    return value.ToTimedelta()


@dataclass(frozen=True)
class OfficeLine:
    """One office's rolled-up figures as query answered them (zeros when query reported no
    row: it leaves out offices with nothing in the period)."""

    code: str
    name: str
    reported: bool
    backlog: int = 0
    overdue: int = 0
    compliance: float | None = None
    median_accept: timedelta | None = None
    median_resolve: timedelta | None = None
    time_held: timedelta = timedelta(0)
    bounced: int = 0
    accept_breaches: int = 0
    first_response_breaches: int = 0
    resolution_breaches: int = 0
    received: int = 0
    resolved: int = 0
    drill: bool = False

    @property
    def breaches(self) -> int:
        return self.accept_breaches + self.first_response_breaches + self.resolution_breaches

    @property
    def band(self) -> str:
        return band(self.compliance)

    @property
    def percent(self) -> str:
        return "" if self.compliance is None else f"{self.compliance * 100:.0f}%"


def office_line(
    registry: OfficeRegistry, code: str, kpis: query_pb2.OfficeKpis | None, drill: bool = False
) -> OfficeLine:
    office = registry.get(code)
    name = office.name if office is not None else code
    if kpis is None:
        return OfficeLine(code, name, reported=False, drill=drill)
    return OfficeLine(
        code=code,
        name=name,
        reported=True,
        backlog=kpis.backlog,
        overdue=kpis.overdue,
        compliance=kpis.sla_compliance if kpis.HasField("sla_compliance") else None,
        median_accept=_span(kpis, "median_time_to_accept"),
        median_resolve=_span(kpis, "median_time_to_resolve"),
        time_held=kpis.time_held.ToTimedelta(),
        bounced=kpis.bounced_out,
        accept_breaches=kpis.accept_breaches,
        first_response_breaches=kpis.first_response_breaches,
        resolution_breaches=kpis.resolution_breaches,
        received=kpis.received,
        resolved=kpis.resolved,
        drill=drill,
    )


def below(registry: OfficeRegistry, office: str) -> list[str]:
    """The offices directly below `office` in the registry (Pusat triage: the Kanwil and the
    other Pusat units; a Kanwil: its Kantah), by code."""
    return sorted(o.code for o in registry.offices.values() if o.parent_code == office)


def by_office(response: query_pb2.GetStatsResponse) -> dict[str, query_pb2.OfficeKpis]:
    return {row.office_code: row for row in response.offices}


@dataclass(frozen=True)
class Table:
    office: OfficeLine
    rows: list[OfficeLine]


def office_table(
    registry: OfficeRegistry, office: str, rows: Mapping[str, query_pb2.OfficeKpis]
) -> Table:
    """The office's own line and one per office directly below it (a link down when that one
    has offices below it too)."""
    parents = {o.parent_code for o in registry.offices.values()}
    lines = [
        office_line(registry, code, rows.get(code), drill=code in parents)
        for code in below(registry, office)
    ]
    return Table(office_line(registry, office, rows.get(office)), lines)


# -- the map -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    key: str  # province code, or the Kantah's office code
    label: str  # the short text on the tile
    name: str
    x: int
    y: int
    line: OfficeLine | None  # None: no office serves the place

    @property
    def band(self) -> str:
        return "none" if self.line is None else self.line.band


@dataclass(frozen=True)
class TileMap:
    kind: str  # "province" or "regency"
    tiles: list[Tile]
    width: int
    height: int


@cache
def province_tiles() -> tuple[tuple[str, str, int, int], ...]:
    """(code, name, row, col) of every province: `data/province-tiles.csv` (ODbL, NOTICE.md)."""
    text = resources.files("aduan_desk").joinpath("data", "province-tiles.csv").read_text("utf-8")
    return tuple(
        (row["code"], row["name"], int(row["row"]), int(row["col"]))
        for row in csv.DictReader(text.splitlines())
    )


def _place(row: int, col: int) -> tuple[int, int]:
    return col * (TILE + GAP), row * (TILE + GAP)


def _map(kind: str, tiles: list[Tile]) -> TileMap:
    width = max((t.x for t in tiles), default=0) + TILE
    height = max((t.y for t in tiles), default=0) + TILE
    return TileMap(kind, tiles, width, height)


def province_map(registry: OfficeRegistry, lines: Iterable[OfficeLine]) -> TileMap:
    """Every province, coloured by the rolled-up compliance of the Kanwil serving it."""
    known = {line.code: line for line in lines}
    tiles = []
    for code, name, row, col in province_tiles():
        kanwil = registry.kanwil_for_province(code)
        line = known.get(kanwil.code) if kanwil is not None else None
        x, y = _place(row, col)
        tiles.append(Tile(code, code, name, x, y, line))
    return _map("province", tiles)


def regency_map(lines: Sequence[OfficeLine], per_row: int = 8) -> TileMap:
    """A Kanwil's Kantah as a grid of tiles in code order (one per regency or city)."""
    tiles = []
    for i, line in enumerate(lines):
        x, y = _place(i // per_row, i % per_row)
        tiles.append(Tile(line.code, line.code.rsplit(".", 1)[-1], line.name, x, y, line))
    return _map("regency", tiles)


def office_map(registry: OfficeRegistry, office: str, table: Table) -> TileMap | None:
    """Provinces for the Pusat triage desk (its Kanwil), regencies for a Kanwil (its Kantah);
    no map for offices with no regional offices below."""
    found = registry.get(office)
    if found is None:
        return None
    if found.level == OfficeLevel.KANWIL and table.rows:
        return regency_map(table.rows)
    if office == registry.triage_code:
        return province_map(registry, table.rows)
    return None


# -- the trend -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    start: datetime
    end: datetime
    line: OfficeLine
    x: float = 0.0
    y: float | None = None  # compliance, None when the office met or missed no deadline
    bar_y: float = 0.0
    bar_height: float = 0.0


@dataclass(frozen=True)
class Trend:
    points: list[TrendPoint]
    polyline: str
    bar_width: float
    width: int = TREND_WIDTH
    height: int = TREND_HEIGHT
    pad: int = TREND_PAD
    max_backlog: int = 0

    @property
    def baseline(self) -> int:
        return self.height - self.pad

    @property
    def gridlines(self) -> list[tuple[str, float]]:
        """The compliance axis: (label, y) at 0, 50 and 100 percent."""
        inner = self.height - 2 * self.pad
        return [(f"{p}%", self.pad + inner * (1 - p / 100)) for p in (0, 50, 100)]


def trend(
    registry: OfficeRegistry,
    office: str,
    periods: Sequence[tuple[datetime, datetime]],
    responses: Sequence[query_pb2.GetStatsResponse],
) -> Trend:
    """One point per week: the office's rolled-up compliance (the line) and its backlog at the
    week's end (the bars), drawn in a TREND_WIDTH x TREND_HEIGHT box."""
    lines = [office_line(registry, office, by_office(r).get(office)) for r in responses]
    inner_w = TREND_WIDTH - 2 * TREND_PAD
    inner_h = TREND_HEIGHT - 2 * TREND_PAD
    step = inner_w / max(len(lines), 1)
    top = max((line.backlog for line in lines), default=0)
    points = []
    for i, ((start, end), line) in enumerate(zip(periods, lines, strict=True)):
        x = TREND_PAD + step * (i + 0.5)
        y = None if line.compliance is None else TREND_PAD + inner_h * (1 - line.compliance)
        height = inner_h * line.backlog / top if top else 0.0
        points.append(TrendPoint(start, end, line, x, y, TREND_HEIGHT - TREND_PAD - height, height))
    polyline = " ".join(f"{p.x:.1f},{p.y:.1f}" for p in points if p.y is not None)
    return Trend(points, polyline, step * 0.6, max_backlog=top)
