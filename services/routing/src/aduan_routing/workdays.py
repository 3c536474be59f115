"""Indonesian working days and the SLA deadlines counted in them. Transport-free.

A working day is Monday to Friday, not a public holiday (the `holidays` package, category
PUBLIC) and not a day of collective leave (cuti bersama; a data file, because the government
announces it each year by an SKB of three ministers and sometimes amends it). Days are counted
in Western Indonesia Time (WIB, UTC+7), where Pusat and most offices are; a deadline falls at
the end of its day (23:59:59 WIB).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import holidays
import yaml

from aduan.core.settings import SettingsError
from aduan_routing.packaged import packaged_text

WIB = dt.timezone(dt.timedelta(hours=7), "WIB")
END_OF_DAY = dt.time(23, 59, 59)


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware."""


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class CalendarError(SettingsError):
    """The collective-leave file is invalid; the service refuses to start."""


@dataclass(frozen=True)
class CollectiveLeave:
    version: str
    days: Mapping[dt.date, str]


def parse_collective_leave(source: str, origin: str = "collective leave") -> CollectiveLeave:
    try:
        document = yaml.safe_load(source)
    except yaml.YAMLError as error:
        raise CalendarError(f"{origin}: not valid YAML: {error}") from None
    if not isinstance(document, Mapping) or not isinstance(document.get("days"), Mapping):
        raise CalendarError(f"{origin}: expected a mapping with version and days")
    days: dict[dt.date, str] = {}
    for year, entries in document["days"].items():
        for entry in entries or []:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("date"), dt.date):
                raise CalendarError(
                    f"{origin}: {year}: each day needs date: YYYY-MM-DD and a name, got {entry!r}"
                )
            day: dt.date = entry["date"]
            if day.year != int(year):
                raise CalendarError(f"{origin}: {day} is listed under {year}")
            days[day] = str(entry.get("name") or "cuti bersama")
    return CollectiveLeave(str(document.get("version") or ""), days)


def load_collective_leave(path: str | Path | None = None) -> CollectiveLeave:
    if path is None or str(path) == "":
        return parse_collective_leave(
            packaged_text("collective-leave.yaml"), "default collective leave"
        )
    file = Path(path)
    try:
        source = file.read_text(encoding="utf-8")
    except OSError as error:
        raise CalendarError(f"cannot read collective leave {file}: {error.strerror}") from None
    return parse_collective_leave(source, str(file))


@dataclass
class WorkingCalendar:
    collective_leave: CollectiveLeave
    _public: dict[int, Any] = field(default_factory=dict, repr=False)

    def _public_holidays(self, year: int) -> Any:
        if year not in self._public:
            self._public[year] = holidays.country_holidays("ID", years=year)
        return self._public[year]

    def non_working_reason(self, day: dt.date) -> str | None:
        """Why `day` is not a working day, or None when it is one."""
        if day.weekday() >= 5:
            return "weekend"
        public = self._public_holidays(day.year).get(day)
        if public:
            return str(public)
        return self.collective_leave.days.get(day)

    def is_working_day(self, day: dt.date) -> bool:
        return self.non_working_reason(day) is None

    def working_days_after(self, day: dt.date, count: int) -> dt.date:
        """The `count`-th working day after `day` (not counting `day` itself)."""
        current = day
        remaining = count
        while remaining > 0:
            current += dt.timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days(self, days: Iterable[dt.date]) -> list[dt.date]:
        return [d for d in days if self.is_working_day(d)]


def local_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(WIB).date()


def end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, END_OF_DAY, tzinfo=WIB).astimezone(dt.UTC)


@dataclass(frozen=True)
class SlaPolicy:
    """The SLA durations (docs/architecture.md, "Domain defaults"; Perpres 76/2013 for resolution)."""

    accept_working_days: int = 3
    first_response_working_days: int = 5
    resolution_calendar_days: int = 60
    auto_close_working_days: int = 10


@dataclass
class SlaCalendar:
    """Deadlines: `n` working days after the day of an event, at the end of that day."""

    calendar: WorkingCalendar
    policy: SlaPolicy = field(default_factory=SlaPolicy)

    def accept_due(self, assigned_at: dt.datetime) -> dt.datetime:
        return self._working(assigned_at, self.policy.accept_working_days)

    def response_due(self, accepted_at: dt.datetime) -> dt.datetime:
        return self._working(accepted_at, self.policy.first_response_working_days)

    def resolution_due(self, filed_at: dt.datetime) -> dt.datetime:
        day = local_day(filed_at) + dt.timedelta(days=self.policy.resolution_calendar_days)
        return end_of(day)

    def auto_close_due(self, resolved_at: dt.datetime) -> dt.datetime:
        return self._working(resolved_at, self.policy.auto_close_working_days)

    def _working(self, moment: dt.datetime, count: int) -> dt.datetime:
        return end_of(self.calendar.working_days_after(local_day(moment), count))


@cache
def default_calendar() -> WorkingCalendar:
    return WorkingCalendar(load_collective_leave())
