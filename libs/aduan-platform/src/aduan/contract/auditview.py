"""What the auditor's commands and the desk's auditor page show and write, from rows shaped like
the read models' (filled from the Query service's answers: `aduan.contract.auditrows`): the columns of `export` and `replay`, offices with
their names, and times in the office's zone.

Times for people are local and carry their zone ("2026-03-02 14:05 WITA",
`aduan.reference.timezones.format_compact`): an event in the zone of the office that acted, else
the office the case went to, else the office it left, else the fallback the caller gives (the
complaint's holding office in a trail, WIB in an export); a custody segment and a complaint in the
zone of the office holding it (a complaint no office holds in its province's). Machine-readable files keep ISO 8601 UTC and add the local time
beside it (`export_lines`: the one format of `aduan audit export` and the desk's downloads).
Transport-free.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from aduan.reference.offices import OfficeRegistry
from aduan.reference.timezones import (
    PUSAT_ZONE,
    IndonesianZone,
    UnknownZoneError,
    format_compact,
    office_zone,
    province_zone,
)

Row = Mapping[str, Any]
EXPORT_FORMATS = ("jsonl", "csv")

EXPORT_COLUMNS = (
    "event_id",
    "complaint_id",
    "service",
    "position",
    "event_type",
    "occurred_at",
    "actor_id",
    "actor_kind",
    "actor_role",
    "actor_office",
    "from_office",
    "to_office",
    "reason_code",
    "rule_id",
    "ruleset_version",
    "note",
    "summary",
    "aggregate_version",
    "correlation_id",
    "causation_id",
    # Added after the columns above, so that readers by position keep working.
    "occurred_at_local",
    "local_zone",
)

REPLAY_COLUMNS = (
    "complaint_id",
    "ticket_number",
    "status",
    "category",
    "province_code",
    "regency_code",
    "holding_office",
    "reassignment_count",
    "breached",
    "overdue",
    "filed_at",
    "updated_at",
)


def utc_text(moment: datetime | None) -> str:
    """ISO 8601 in UTC, the form of every time in a machine-readable file; "" for none."""
    return "" if moment is None else moment.astimezone(UTC).isoformat()


class Places:
    """Office codes as people read them, and the zone each keeps, from the office registry."""

    def __init__(self, registry: OfficeRegistry) -> None:
        self.registry = registry

    def label(self, code: str) -> str:
        """ "KANTAH.73.71 Kantor Pertanahan Kota Makassar"; the code alone when not registered."""
        office = self.registry.get(code) if code else None
        return f"{code} {office.name}" if office is not None else code

    @staticmethod
    def zone(*codes: str, fallback: IndonesianZone = PUSAT_ZONE) -> IndonesianZone:
        """The zone of the first of `codes` that has one, else `fallback`."""
        for code in codes:
            if not code:
                continue
            try:
                return office_zone(code)
            except UnknownZoneError:
                continue
        return fallback

    @staticmethod
    def province(code: str, fallback: IndonesianZone = PUSAT_ZONE) -> IndonesianZone:
        """The zone of a province code, else `fallback` (a complaint not located yet)."""
        try:
            return province_zone(code)
        except UnknownZoneError:
            return fallback

    def event_zone(self, row: Row, fallback: IndonesianZone = PUSAT_ZONE) -> IndonesianZone:
        return self.zone(
            row["actor_office"], row["to_office"], row["from_office"], fallback=fallback
        )


def shown(moment: datetime | None, zone: IndonesianZone) -> str:
    """A time as people read it in `zone`; "" for none."""
    return "" if moment is None else format_compact(moment, zone)


def export_record(row: Row, places: Places) -> dict[str, Any]:
    """One line of `aduan audit export`: the event as projected, `occurred_at` in UTC and, beside
    it, the same moment in the acting office's zone (`occurred_at_local`, with its offset)."""
    zone = places.event_zone(row)
    record = {name: row[name] for name in EXPORT_COLUMNS[:-2]}
    record["occurred_at"] = utc_text(row["occurred_at"])
    record["occurred_at_local"] = row["occurred_at"].astimezone(zone.tzinfo).isoformat()
    record["local_zone"] = zone.abbreviation
    return record


def replay_record(row: Row) -> dict[str, Any]:
    """One line of `aduan audit replay --format jsonl`: times in ISO 8601 UTC."""
    return {
        name: utc_text(row[name]) if isinstance(row[name], datetime) else row[name]
        for name in REPLAY_COLUMNS
    }


def replay_cells(row: Row, places: Places) -> list[str]:
    """One row of the replay table: the holding office with its name, times in its zone."""
    zone = places.zone(row["holding_office"], fallback=places.province(row["province_code"]))
    cells = []
    for name in REPLAY_COLUMNS:
        value = row[name]
        if name == "holding_office":
            cells.append(places.label(value))
        elif isinstance(value, datetime):
            cells.append(shown(value, zone))
        else:
            cells.append("" if value is None else str(value))
    return cells


def _csv_line(values: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(list(values))
    return buffer.getvalue()


def export_header(format_: str) -> str:
    """What an export starts with: the CSV header line; nothing for JSON Lines."""
    if format_ not in EXPORT_FORMATS:
        raise ValueError(f"export format must be one of {', '.join(EXPORT_FORMATS)}")
    return _csv_line(EXPORT_COLUMNS) if format_ == "csv" else ""


def export_line(row: Row, format_: str, places: Places) -> str:
    """One event of an export (`export_record`) as a JSON line or a CSV line."""
    record = export_record(row, places)
    if format_ == "csv":
        return _csv_line(record[name] for name in EXPORT_COLUMNS)
    return json.dumps(record, ensure_ascii=False) + "\n"


def export_lines(rows: Iterable[Row], format_: str, places: Places) -> Iterator[str]:
    """The text of an export: the header (CSV), then one line per event."""
    header = export_header(format_)
    if header:
        yield header
    for row in rows:
        yield export_line(row, format_, places)
