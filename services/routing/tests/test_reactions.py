"""What intake's events do to a case (reactions.py), without a store."""

from __future__ import annotations

import datetime as dt
import uuid

from aduan.core.context import Actor, CommandContext
from aduan.reference.categories import Category
from aduan.reference.locations import Location
from aduan_routing.domain import Case, CaseStatus
from aduan_routing.policy import default_policy
from aduan_routing.reactions import BatchCases, Filing, Learned, Replied, Withdrawn

POLICY = default_policy()
T0 = dt.datetime(2026, 3, 17, 10, 0, tzinfo=dt.UTC)
CTX = CommandContext(actor=Actor.system("test"))
BANDUNG = Location(province_code="32", regency_code="32.73")


def filing(details_due: dt.datetime | None = None, ticket: str = "adu-1") -> Filing:
    return Filing(
        complaint_id=uuid.uuid4(),
        ticket_number=ticket,
        category=Category.LAND_SERVICE,
        location=Location("32", "32.73", "Jl. Asia Afrika 1"),
        confidential=False,
        filed_at=T0,
        details_due=details_due,
    )


def test_a_filing_opens_a_placed_case_or_one_that_waits_for_the_details() -> None:
    placed = filing().open_case(POLICY, at=T0, ctx=CTX)
    assert placed.status is CaseStatus.ASSIGNED
    assert placed.holder == "KANTAH.32.73"
    waiting = filing(details_due=T0 + dt.timedelta(hours=1)).open_case(POLICY, at=T0, ctx=CTX)
    assert waiting.awaiting_details
    assert waiting.holder == ""


def test_a_located_finding_keeps_the_reporters_address() -> None:
    case = filing().open_case(POLICY, at=T0, ctx=CTX)
    found = Learned(case.id, None, BANDUNG, False, "pin")
    assert found.location_for(case) == Location("32", "32.73", "Jl. Asia Afrika 1")
    assert not found.changes(case)
    assert Learned(case.id, None, None, True, "").location_for(case) is None
    assert not Learned(case.id, Category.LAND_SERVICE, None, False, "").changes(case)
    assert Learned(case.id, Category.LAND_DISPUTE, None, False, "").changes(case)
    elsewhere = Location(province_code="32", regency_code="32.01")
    assert Learned(case.id, None, elsewhere, False, "").changes(case)


def test_a_finding_places_a_waiting_case_once_nothing_is_pending() -> None:
    case = filing(details_due=T0 + dt.timedelta(hours=1)).open_case(POLICY, at=T0, ctx=CTX)
    pending = Learned(case.id, Category.LAND_DISPUTE, None, True, "text rule")
    assert pending.apply(case, POLICY, at=T0, ctx=CTX)
    assert case.awaiting_details
    # Nothing new and still pending: unchanged.
    assert not pending.apply(case, POLICY, at=T0, ctx=CTX)
    done = Learned(case.id, None, None, False, "")
    assert done.apply(case, POLICY, at=T0, ctx=CTX)
    assert case.status is CaseStatus.ASSIGNED
    assert case.category is Category.LAND_DISPUTE


def test_a_finding_that_changes_nothing_leaves_a_placed_case_alone() -> None:
    case = filing().open_case(POLICY, at=T0, ctx=CTX)
    version = case.version
    assert not Learned(case.id, Category.LAND_SERVICE, None, False, "").apply(
        case, POLICY, at=T0, ctx=CTX
    )
    assert case.version == version


def status(case: Case) -> CaseStatus | None:
    return case.status


def test_a_reply_reopens_only_a_resolved_case_and_a_withdrawal_ends_an_unfinished_one() -> None:
    case = filing().open_case(POLICY, at=T0, ctx=CTX)
    assert not Replied(case.id).apply(case, POLICY, at=T0, ctx=CTX)
    case.accept(T0, at=T0, ctx=CTX)
    case.resolve("done", T0, at=T0, ctx=CTX)
    assert Replied(case.id).apply(case, POLICY, at=T0, ctx=CTX)
    assert status(case) is CaseStatus.IN_PROGRESS
    assert Withdrawn(case.id, "solved").apply(case, POLICY, at=T0, ctx=CTX)
    assert status(case) is CaseStatus.WITHDRAWN
    assert not Withdrawn(case.id, "again").apply(case, POLICY, at=T0, ctx=CTX)


def test_a_batch_loads_each_case_once_and_claims_the_tickets_it_opened() -> None:
    stored = filing().open_case(POLICY, at=T0, ctx=CTX)
    loads: list[uuid.UUID] = []

    def find(case_id: uuid.UUID) -> Case | None:
        loads.append(case_id)
        return stored if case_id == stored.id else None

    batch = BatchCases(find)
    missing = uuid.uuid4()
    assert batch.get(stored.id) is stored
    assert batch.get(stored.id) is stored
    assert batch.get(missing) is None
    assert loads == [stored.id, missing]
    assert batch.has_case(stored.id)
    assert not batch.has_case(missing)
    assert not batch.has_case(uuid.uuid4())

    opened = filing(ticket="adu-2").open_case(POLICY, at=T0, ctx=CTX)
    batch.opened(opened, "adu-2")
    untitled = filing(ticket="").open_case(POLICY, at=T0, ctx=CTX)
    batch.opened(untitled, "")
    assert batch.cases == [stored, opened, untitled]
    assert batch.ticket_claims == [("ADU-2", str(opened.id))]
