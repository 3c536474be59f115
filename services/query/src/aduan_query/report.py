"""The monthly office KPI report (`aduan audit report`): GetStats' `offices` as CSV or XLSX.

A month runs from its first day 00:00 WIB to the next month's, the zone routing counts SLA days in
(docs/routing.md, "SLA clocks"). Durations are written as hours with two decimals, empty when
there is nothing to take a median of.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

from aduan.v1 import common_pb2, query_pb2
from aduan_query.history import enum_name

WIB = timezone(timedelta(hours=7), "WIB")

REPORT_COLUMNS = (
    "office_code",
    "channel",
    "category",
    "received",
    "accepted",
    "accepted_in_time",
    "responded",
    "responded_in_time",
    "resolved",
    "resolved_in_time",
    "median_hours_to_accept",
    "median_hours_to_first_response",
    "median_hours_to_resolve",
    "hours_held",
    "bounced_out",
    "bounced_in",
    "escalated_by_sla",
    "accept_breaches",
    "first_response_breaches",
    "resolution_breaches",
    "ratings",
    "mean_rating",
)

_DURATIONS = {
    "median_hours_to_accept": "median_time_to_accept",
    "median_hours_to_first_response": "median_time_to_first_response",
    "median_hours_to_resolve": "median_time_to_resolve",
    "hours_held": "time_held",
}


def month_period(text: str) -> tuple[datetime, datetime]:
    """[first day, first day of the next month) of "YYYY-MM", in WIB, as UTC datetimes;
    ValueError for anything else."""
    year_text, sep, month_text = text.strip().partition("-")
    if not sep or len(year_text) != 4 or len(month_text) != 2:
        raise ValueError(f"{text!r} is not a month like 2026-11")
    year, month = int(year_text), int(month_text)
    start = datetime(year, month, 1, tzinfo=WIB)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=WIB)
    return start.astimezone(UTC), end.astimezone(UTC)


def _hours(message: query_pb2.OfficeKpis, name: str) -> float | str:
    if not message.HasField(name):
        return ""
    seconds: float = getattr(message, name).ToTimedelta().total_seconds()
    return round(seconds / 3600, 2)


def report_row(kpis: query_pb2.OfficeKpis) -> dict[str, Any]:
    """One office's figures as a report row (enumerations by name, "" for all)."""
    row: dict[str, Any] = {}
    for column in REPORT_COLUMNS:
        if column in _DURATIONS:
            row[column] = _hours(kpis, _DURATIONS[column])
        elif column == "channel":
            row[column] = _all_or(enum_name(common_pb2.Channel, kpis.channel, "CHANNEL_"))
        elif column == "category":
            row[column] = _all_or(enum_name(common_pb2.Category, kpis.category, "CATEGORY_"))
        elif column == "mean_rating":
            row[column] = round(kpis.mean_rating, 2) if kpis.ratings else ""
        else:
            row[column] = getattr(kpis, column)
    return row


def _all_or(name: str) -> str:
    return "" if name == "UNSPECIFIED" else name


def write_csv(rows: Sequence[Mapping[str, Any]], out: TextIO) -> None:
    writer = csv.DictWriter(out, fieldnames=REPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def write_xlsx(rows: Sequence[Mapping[str, Any]], path: Path, about: Mapping[str, str]) -> None:
    """A workbook with the figures (sheet "KPI") and what they cover (sheet "About")."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "KPI"
    sheet.append(list(REPORT_COLUMNS))
    for row in rows:
        sheet.append([row[column] for column in REPORT_COLUMNS])
    sheet.freeze_panes = "B2"
    info = book.create_sheet("About")
    for key, value in about.items():
        info.append([key, value])
    book.save(path)
