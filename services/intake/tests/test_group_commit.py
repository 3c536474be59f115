"""Group commit of filings (`IntakeApplication.file_group`, `FilingGroups`): many filings in one
transaction must answer exactly as filing them one by one would, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aduan.core.context import CommandContext
from aduan.core.errors import ValidationError
from aduan.eventstore.chain import LoggedEvent, verify_log
from aduan.eventstore.store import store_env
from aduan_intake.application import IntakeApplication
from aduan_intake.domain import Complaint, reporter_id_for, ticket_number_for
from aduan_intake.filing import FilingRequest, FilingResult
from aduan_intake.groupcommit import FilingGroups
from aduan_intake.validation import ValidFiling, validate_filing


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IntakeApplication]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'intake.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    application = IntakeApplication(env=store_env(url, "intake"))
    yield application
    application.close()


def valid(request: FilingRequest) -> ValidFiling:
    return validate_filing(request)


def varied(filing: Callable[..., FilingRequest], n: int, prefix: str = "g") -> FilingRequest:
    """Anonymous, by phone or by e-mail, in turn."""
    kind = n % 3
    return filing(
        idempotency_key=f"{prefix}-{n}",
        reporter_name="" if kind == 0 else f"Pelapor {n}",
        reporter_phone=f"0812{n:08d}" if kind == 1 else "",
        reporter_email=f"pelapor{n}@example.id" if kind == 2 else "",
        anonymous=kind == 0,
    )


def chain_report(app: IntakeApplication) -> list[str]:
    events = [
        LoggedEvent(
            service="intake",
            position=n.id,
            event_id=f"intake:{n.id}",
            aggregate_id=str(n.originator_id),
            aggregate_version=n.originator_version,
            topic=n.topic,
            state=n.state,
        )
        for n in app.read_notifications(0, 100_000)
    ]
    return [str(finding) for finding in verify_log("intake", events).findings]


def results_of(answers: list[FilingResult | Exception]) -> list[FilingResult]:
    assert all(isinstance(a, FilingResult) for a in answers), answers
    return [a for a in answers if isinstance(a, FilingResult)]


def test_a_group_files_each_complaint_once_with_its_sealed_reporter_and_a_valid_chain(
    store_app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    woken: list[int] = []
    store_app.add_listener(woken.append)
    results = results_of(store_app.file_group([(valid(varied(filing, n)), ctx) for n in range(12)]))

    assert all(r.created for r in results)
    assert len({r.complaint_id for r in results}) == 12
    positions = {n.id: n.originator_id for n in store_app.read_notifications(0, 1000)}
    assert {positions[r.position] for r in results} == {r.complaint_id for r in results}
    assert woken == [store_app.head_position()]  # the relay is woken once, for the commit
    for result in results:
        assert store_app.get_complaint(result.ticket_number).id == result.complaint_id
    by_phone = store_app.open_complaint_for_phone("+6281200000001")
    assert by_phone is not None
    assert by_phone.id == results[1].complaint_id
    revealed = store_app.reveal_contact(str(results[2].complaint_id), "follow-up", ctx)
    assert revealed.identity.email == "pelapor2@example.id"
    # A later event of a group-filed complaint links to the event the group stored.
    store_app.add_reporter_message(
        str(results[4].complaint_id),
        idempotency_key="m-1",
        channel=varied(filing, 4).channel,
        text="Ada kabar?",
        attachments=[],
        ctx=ctx,
    )
    assert chain_report(store_app) == []


def test_one_key_twice_in_a_group_and_again_later_makes_one_complaint(
    store_app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    same = valid(varied(filing, 1, prefix="dup"))
    first, other, again = results_of(
        store_app.file_group([(same, ctx), (valid(varied(filing, 2)), ctx), (same, ctx)])
    )
    assert first.created
    assert other.created
    assert not again.created
    assert (again.complaint_id, again.ticket_number, again.position) == (
        first.complaint_id,
        first.ticket_number,
        first.position,
    )
    (later,) = results_of(store_app.file_group([(same, ctx)]))
    alone = store_app.file_complaint(varied(filing, 1, prefix="dup"), ctx)
    for repeat in (later, alone):
        assert not repeat.created
        assert (repeat.complaint_id, repeat.position) == (first.complaint_id, first.position)
    assert len(store_app.read_notifications(0, 100)) == 2


def test_a_failed_group_is_filed_one_by_one_and_a_failing_filing_fails_alone(
    store_app: IntakeApplication,
    filing: Callable[..., FilingRequest],
    ctx: CommandContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    requests = [valid(varied(filing, n, prefix="fb")) for n in range(6)]
    ids = [Complaint.create_id(r.channel, r.idempotency_key) for r in requests]
    # Another complaint holds the ticket of the first: the group's transaction fails.
    held = ticket_number_for(ids[0], _year(), 0)
    assert store_app.claims.claim("ticket", held, str(uuid.uuid4())) != str(ids[0])
    # A data key left by an interrupted filing of the second (first writer wins).
    leftover = store_app.master_key.new_wrapped_data_key(reporter_id_for(ids[1]))
    store_app.tables.put_data_key(reporter_id_for(ids[1]), leftover)
    # And the third cannot be filed at all.
    broken = requests[2].idempotency_key
    file_valid = store_app.file_valid

    def failing(request: ValidFiling, context: CommandContext) -> FilingResult:
        if request.idempotency_key == broken:
            raise RuntimeError("disk on fire")
        return file_valid(request, context)

    monkeypatch.setattr(store_app, "file_valid", failing)
    answers = store_app.file_group([(r, ctx) for r in requests])

    assert isinstance(answers[2], RuntimeError)
    filed = [a for i, a in enumerate(answers) if i != 2]
    assert all(isinstance(a, FilingResult) and a.created for a in filed)
    first = answers[0]
    assert isinstance(first, FilingResult)
    assert first.ticket_number != held
    assert store_app.tables.get_data_key(reporter_id_for(ids[1])) == leftover
    phone = store_app.reveal_contact(str(ids[1]), "follow-up", ctx).identity.phone
    assert phone == "+6281200000001"
    complaints = {n.originator_id for n in store_app.read_notifications(0, 100)}
    assert complaints == {ids[i] for i in (0, 1, 3, 4, 5)}
    assert chain_report(store_app) == []


async def test_concurrent_callers_get_their_own_answers_after_their_group_commits(
    store_app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    groups = FilingGroups(store_app, max_group=16)
    woken: list[int] = []
    store_app.add_listener(woken.append)
    keys = [n % 10 for n in range(60)]  # six callers per key
    bad = filing(idempotency_key="bad", description="short")

    async def call(request: FilingRequest) -> FilingResult | Exception:
        try:
            return await groups.file(request, ctx)
        except Exception as error:
            return error

    answers = await asyncio.gather(
        *(call(varied(filing, k, prefix="conc")) for k in keys[:30]),
        call(bad),
        *(call(varied(filing, k, prefix="conc")) for k in keys[30:]),
    )

    assert isinstance(answers[30], ValidationError)
    results = results_of([a for i, a in enumerate(answers) if i != 30])
    by_key: dict[int, list[FilingResult]] = {}
    for key, result in zip(keys, results, strict=True):
        by_key.setdefault(key, []).append(result)
    for same in by_key.values():
        assert sum(r.created for r in same) == 1
        assert len({(r.complaint_id, r.ticket_number, r.position) for r in same}) == 1
    stored = store_app.read_notifications(0, 1000)
    assert len(stored) == 10
    # Every answer names a committed position, and the relay heard of the last commit.
    assert max(r.position for r in results) <= woken[-1] == store_app.head_position()
    assert len(woken) < len(results)  # woken per commit, not per filing
    assert chain_report(store_app) == []


def _year() -> int:
    from datetime import UTC, datetime

    return datetime.now(UTC).year
