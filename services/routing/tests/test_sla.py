"""SLA clocks in Indonesian working days, with a fake clock across Idul Fitri 1447 H (2026):
public holidays from the `holidays` package, cuti bersama from the SKB 3 Menteri list."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from aduan.eventstore.checkpoint import CheckpointSealer, load_signer
from aduan.reference.categories import Category
from aduan_routing.application import RoutingApplication
from aduan_routing.domain import CaseStatus, SlaKind
from aduan_routing.workdays import (
    CalendarError,
    CollectiveLeave,
    SlaCalendar,
    WorkingCalendar,
    default_calendar,
    load_collective_leave,
)

WIB = dt.timezone(dt.timedelta(hours=7))


def end_of_day(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 23, 59, 59, tzinfo=WIB)


def test_the_2026_idul_fitri_holidays_and_collective_leave_are_not_working_days() -> None:
    calendar = default_calendar()
    march = [dt.date(2026, 3, d) for d in range(16, 28)]
    closed = {
        d.day: calendar.non_working_reason(d) for d in march if not calendar.is_working_day(d)
    }
    # 18 cuti Nyepi, 19 Nyepi, 20 cuti Idul Fitri, 21-22 Idul Fitri (weekend), 23-24 cuti.
    assert sorted(closed) == [18, 19, 20, 21, 22, 23, 24]
    assert "Cuti bersama Idul Fitri" in str(closed[20])
    assert "Cuti bersama Idul Fitri" in str(closed[23])
    assert "Cuti bersama Idul Fitri" in str(closed[24])
    assert closed[19] == "Day of Silence"
    assert calendar.is_working_day(dt.date(2026, 3, 17))
    assert calendar.is_working_day(dt.date(2026, 3, 25))


def test_the_holidays_package_knows_idul_fitri_2026() -> None:
    calendar = WorkingCalendar(CollectiveLeave("none", {}))
    assert calendar.non_working_reason(dt.date(2026, 3, 21)) == "weekend"
    public = calendar._public_holidays(2026)
    assert public.get(dt.date(2026, 3, 21)) == "Eid al-Fitr"
    assert public.get(dt.date(2026, 3, 22)) == "Eid al-Fitr Second Day"
    # Without the collective-leave list Friday 20 March would be a working day.
    assert calendar.is_working_day(dt.date(2026, 3, 20))


def test_deadlines_skip_the_holidays_and_collective_leave() -> None:
    sla = SlaCalendar(default_calendar())
    assigned = dt.datetime(2026, 3, 17, 10, 0, tzinfo=WIB)
    # 25, 26, 27 March are the first three working days after Tuesday 17 March.
    assert sla.accept_due(assigned) == end_of_day(2026, 3, 27)
    assert sla.response_due(assigned) == end_of_day(2026, 3, 31)
    assert sla.resolution_due(assigned) == end_of_day(2026, 5, 16)
    # 10 working days after Monday 16 March: 17, 25, 26, 27, 30, 31 Mar, 1, 2, 6, 7 Apr
    # (3 April is Good Friday).
    assert sla.auto_close_due(dt.datetime(2026, 3, 16, 15, 0, tzinfo=WIB)) == end_of_day(2026, 4, 7)
    # Without the collective leave only Nyepi (19 March) would be skipped.
    public_only = SlaCalendar(WorkingCalendar(CollectiveLeave("none", {})))
    assert public_only.accept_due(assigned) == end_of_day(2026, 3, 23)


def test_days_are_counted_in_wib() -> None:
    sla = SlaCalendar(default_calendar())
    # 18:00 UTC on Monday 16 March is already Tuesday 17 March 01:00 WIB.
    late_monday_utc = dt.datetime(2026, 3, 16, 18, 0, tzinfo=dt.UTC)
    assert sla.accept_due(late_monday_utc) == end_of_day(2026, 3, 27)


def test_the_collective_leave_list_can_be_replaced(tmp_path: Path) -> None:
    override = tmp_path / "leave.yaml"
    override.write_text(
        "version: test\ndays:\n  2026:\n    - {date: 2026-03-25, name: Extra leave}\n",
        encoding="utf-8",
    )
    calendar = WorkingCalendar(load_collective_leave(override))
    assert not calendar.is_working_day(dt.date(2026, 3, 25))
    assert calendar.is_working_day(dt.date(2026, 3, 20))
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: x\ndays:\n  2026:\n    - {date: tomorrow}\n", encoding="utf-8")
    with pytest.raises(CalendarError, match="date: YYYY-MM-DD"):
        load_collective_leave(bad)


def test_an_ignored_case_escalates_kantah_kanwil_triage(app, clock, file_complaint) -> None:
    clock.set(dt.datetime(2026, 3, 17, 10, 0, tzinfo=WIB))
    case = file_complaint(regency="32.73")
    assert case.holder == "KANTAH.32.73"
    assert case.accept_due == end_of_day(2026, 3, 27)
    assert case.resolution_due == end_of_day(2026, 5, 16)

    # Nothing is due during the Lebaran holidays.
    clock.set(dt.datetime(2026, 3, 27, 23, 0, tzinfo=WIB))
    assert app.enforce_deadlines() == 0

    clock.set(dt.datetime(2026, 3, 28, 0, 1, tzinfo=WIB))
    assert app.enforce_deadlines() == 1
    case = app.get_case(str(case.id))
    assert case.holder == "KANWIL.32"
    assert case.status is CaseStatus.ASSIGNED
    # A fresh accept deadline for the Kanwil: Mon 30, Tue 31 March, Wed 1 April.
    assert case.accept_due == end_of_day(2026, 4, 1)
    assert app.enforce_deadlines() == 0

    clock.set(dt.datetime(2026, 4, 2, 8, 0, tzinfo=WIB))
    assert app.enforce_deadlines() == 1
    case = app.get_case(str(case.id))
    assert case.holder == "PUSAT.IP3"
    # Good Friday (3 April) and the weekend are skipped: 6, 7, 8 April.
    assert case.accept_due == end_of_day(2026, 4, 8)

    clock.set(dt.datetime(2026, 4, 9, 8, 0, tzinfo=WIB))
    assert app.enforce_deadlines() == 1
    case = app.get_case(str(case.id))
    assert case.holder == "PUSAT.IP3"  # nobody above the triage desk
    assert case.accept_due is None
    assert case.breached == [SlaKind.ACCEPT]
    assert app.enforce_deadlines() == 0
    assert [entry["office"] for entry in case.custody] == ["KANTAH.32.73", "KANWIL.32", "PUSAT.IP3"]

    events = [app.decode(n) for n in app.read_notifications(0, 100)]
    breaches = [e for e in events if type(e).__name__ == "SlaBreached"]
    assert [(b.office, b.escalated_to, b.due_at) for b in breaches] == [
        ("KANTAH.32.73", "KANWIL.32", end_of_day(2026, 3, 27)),
        ("KANWIL.32", "PUSAT.IP3", end_of_day(2026, 4, 1)),
        ("PUSAT.IP3", "", end_of_day(2026, 4, 8)),
    ]
    escalations = [e for e in events if type(e).__name__ == "Reassigned"]
    assert [(e.kind, e.reason_code, e.from_office, e.to_office) for e in escalations] == [
        ("ESCALATE", "SLA_BREACH", "KANTAH.32.73", "KANWIL.32"),
        ("ESCALATE", "SLA_BREACH", "KANWIL.32", "PUSAT.IP3"),
    ]
    # Custody: the Kantah held it from 17 March 10:00 to 28 March 00:01 WIB.
    assert escalations[0].held_seconds == int(
        (
            dt.datetime(2026, 3, 28, 0, 1, tzinfo=WIB) - dt.datetime(2026, 3, 17, 10, 0, tzinfo=WIB)
        ).total_seconds()
    )
    assert all(e.meta["actor"]["id"] == "system:sla-ticker" for e in breaches)


def test_a_deadline_the_inspectorate_misses_is_recorded_not_escalated_to_the_triage_desk(
    app, clock, file_complaint
) -> None:
    """The Inspectorate answers to no office above it (offices.yaml,
    `inspectorate_independent`): escalating its case to the triage desk would show the desk
    what the Inspectorate holds."""
    clock.set(dt.datetime(2026, 3, 17, 10, 0, tzinfo=WIB))
    case = file_complaint(category=Category.ILLEGAL_LEVY, regency="32.73")
    assert case.holder == "PUSAT.ITJEN"
    clock.set(dt.datetime(2026, 3, 28, 0, 1, tzinfo=WIB))
    assert app.enforce_deadlines() == 1
    case = app.get_case(str(case.id))
    assert case.holder == "PUSAT.ITJEN"
    assert case.breached == [SlaKind.ACCEPT]
    assert case.accept_due is None
    assert app.enforce_deadlines() == 0
    events = [app.decode(n) for n in app.read_notifications(0, 100)]
    assert [(e.office, e.escalated_to) for e in events if type(e).__name__ == "SlaBreached"] == [
        ("PUSAT.ITJEN", "")
    ]
    assert not [e for e in events if type(e).__name__ == "Reassigned"]


def test_a_reassignment_restarts_the_accept_clock_but_not_the_resolution_clock(
    app, clock, file_complaint, officer
) -> None:
    from aduan_routing.domain import ReasonCode, ReassignmentKind

    clock.set(dt.datetime(2026, 3, 17, 10, 0, tzinfo=WIB))
    case = file_complaint(regency="32.73")
    clock.set(dt.datetime(2026, 3, 26, 9, 0, tzinfo=WIB))
    result = app.reassign(
        str(case.id),
        kind=ReassignmentKind.TRANSFER,
        to_office="KANTAH.32.04",
        reason_code=ReasonCode.WRONG_JURISDICTION,
        note="the parcel is in Kabupaten Bandung",
        expected_version=0,
        ctx=officer,
    )
    assert result.case.accept_due == end_of_day(2026, 3, 31)
    assert result.case.resolution_due == end_of_day(2026, 5, 16)


def test_first_response_and_resolution_breaches_escalate_once(
    app, clock, file_complaint, officer
) -> None:
    clock.set(dt.datetime(2026, 3, 17, 10, 0, tzinfo=WIB))
    case = file_complaint(regency="32.73")
    app.accept(str(case.id), expected_version=0, ctx=officer)
    assert app.get_case(str(case.id)).response_due == end_of_day(2026, 3, 31)
    clock.set(dt.datetime(2026, 4, 1, 9, 0, tzinfo=WIB))
    assert app.enforce_deadlines() == 1
    case = app.get_case(str(case.id))
    assert case.breached == [SlaKind.FIRST_RESPONSE]
    assert case.holder == "KANWIL.32"
    app.accept(str(case.id), expected_version=0, ctx=officer)
    app.respond(
        str(case.id), text="Kami sedang memeriksa berkas Anda.", expected_version=0, ctx=officer
    )
    clock.set(dt.datetime(2026, 5, 17, 9, 0, tzinfo=WIB))
    assert app.enforce_deadlines() == 1
    case = app.get_case(str(case.id))
    assert case.breached == [SlaKind.FIRST_RESPONSE, SlaKind.RESOLUTION]
    assert case.holder == "PUSAT.IP3"
    app.accept(str(case.id), expected_version=0, ctx=officer)
    clock.advance(days=30)
    assert app.enforce_deadlines() == 0


def test_a_resolved_case_closes_itself_after_ten_working_days(
    app, clock, file_complaint, officer
) -> None:
    clock.set(dt.datetime(2026, 3, 16, 9, 0, tzinfo=WIB))
    case = file_complaint(regency="32.73")
    app.accept(str(case.id), expected_version=0, ctx=officer)
    app.respond(str(case.id), text="Sertifikat sudah terbit.", expected_version=0, ctx=officer)
    clock.set(dt.datetime(2026, 3, 16, 15, 0, tzinfo=WIB))
    resolved = app.resolve(
        str(case.id), summary="Sertifikat diserahkan.", expected_version=0, ctx=officer
    )
    assert resolved.case.auto_close_due == end_of_day(2026, 4, 7)
    clock.set(dt.datetime(2026, 4, 7, 23, 0, tzinfo=WIB))
    assert app.enforce_deadlines() == 0
    clock.set(dt.datetime(2026, 4, 8, 0, 0, 1, tzinfo=WIB))
    assert app.enforce_deadlines() == 1
    closed = app.get_case(str(case.id))
    assert closed.status is CaseStatus.CLOSED
    last = app.decode(app.read_notifications(app.head_position() - 1, 1)[0])
    assert type(last).__name__ == "Closed"
    assert last.automatic is True


def test_a_reporter_reply_after_resolution_reopens_and_stops_the_auto_close(
    app: RoutingApplication, clock, file_complaint, officer
) -> None:
    from aduan.core.context import Actor, CommandContext

    clock.set(dt.datetime(2026, 3, 16, 9, 0, tzinfo=WIB))
    case = file_complaint(regency="32.73")
    app.accept(str(case.id), expected_version=0, ctx=officer)
    app.resolve(str(case.id), summary="Selesai.", expected_version=0, ctx=officer)
    app.reporter_replied(
        case.id, upstream="intake", position=99, ctx=CommandContext(actor=Actor.service("routing"))
    )
    reopened = app.get_case(str(case.id))
    assert reopened.status is CaseStatus.IN_PROGRESS
    assert reopened.auto_close_due is None
    clock.advance(days=40)
    app.enforce_deadlines()
    assert app.get_case(str(case.id)).status is not CaseStatus.CLOSED


def test_deadlines_are_still_enforced_once_the_log_holds_a_sealed_checkpoint(
    app, clock, file_complaint
) -> None:
    """The sealer stores its checkpoints in routing's own log, so the SLA ticker's index reads
    them among the cases; it once asked a checkpoint for its deadline, failed, and no deadline was
    enforced again after the first seal (every tick "failed; retrying")."""
    clock.set(dt.datetime(2026, 3, 17, 10, 0, tzinfo=WIB))
    case = file_complaint(regency="32.73")
    sealed = CheckpointSealer(app, "routing", load_signer("routing", {})).seal_once()
    assert sealed is not None
    clock.set(dt.datetime(2026, 3, 28, 0, 1, tzinfo=WIB))
    assert app.enforce_deadlines() == 1
    assert app.get_case(str(case.id)).holder == "KANWIL.32"
