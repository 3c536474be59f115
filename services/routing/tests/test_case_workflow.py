"""The officers' workflow on one case: legal transitions, documented errors (nothing stored),
re-routing after classification, the ping-pong guard, custody, and the intake reactions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from aduan.core.context import Actor, CommandContext
from aduan.core.errors import (
    ConcurrencyConflictError,
    InvalidStateError,
    NotFoundError,
    ValidationError,
)
from aduan.eventstore.store import DuplicateEventError
from aduan.reference.categories import Category
from aduan.reference.locations import Location
from aduan_routing.application import RoutingApplication
from aduan_routing.contract import translator
from aduan_routing.domain import Case, CaseStatus, ReasonCode, ReassignmentKind, Scope
from aduan_routing.policy import RoutingPolicy
from aduan_routing.reactions import Filing

SERVICE_CTX = CommandContext(actor=Actor.service("routing"))


def stored(app: RoutingApplication) -> list[Any]:
    return [app.decode(n) for n in app.read_notifications(0, 10_000)]


def names(app: RoutingApplication) -> list[str]:
    return [type(e).__name__ for e in stored(app)]


def reassign(app: RoutingApplication, case: Case, officer: CommandContext, **kwargs: Any) -> Any:
    arguments: dict[str, Any] = {
        "kind": ReassignmentKind.TRANSFER,
        "to_office": "KANTAH.32.04",
        "reason_code": ReasonCode.WRONG_JURISDICTION,
        "note": "",
        "expected_version": 0,
    }
    arguments.update(kwargs)
    return app.reassign(str(case.id), ctx=officer, **arguments)


def test_a_filed_complaint_opens_a_case_routed_by_the_rules(app, file_complaint) -> None:
    case = file_complaint(category=Category.LAND_SERVICE, regency="32.73", ticket="ADU-2026-7KQ9M2")
    assert case.status is CaseStatus.ASSIGNED
    assert case.holder == "KANTAH.32.73"
    assert case.rule_id == "land-service-to-kantah"
    assert case.ruleset_version == app.rules.version
    assert names(app) == ["Opened", "Routed"]
    assert app.get_case("adu-2026-7kq9m2").id == case.id
    assert app.tracked_position("intake") == 1


def test_illegal_levy_goes_to_the_inspectorate(file_complaint) -> None:
    case = file_complaint(category=Category.ILLEGAL_LEVY, regency="32.73")
    assert case.holder == "PUSAT.ITJEN"


def test_a_redelivered_complaint_filed_is_recognised(app: RoutingApplication, clock) -> None:
    filing = Filing(uuid.uuid4(), "ADU-2026-AAAAAA", Category.OTHER, Location(), False, clock.now())
    app.open_case(filing, upstream="intake", position=5, ctx=SERVICE_CTX)
    with pytest.raises(DuplicateEventError):
        app.open_case(filing, upstream="intake", position=5, ctx=SERVICE_CTX)
    assert names(app) == ["Opened", "Routed"]
    # The same complaint seen again at a later position (e.g. after an upstream replay) only
    # records the position.
    app.open_case(filing, upstream="intake", position=6, ctx=SERVICE_CTX)
    assert names(app) == ["Opened", "Routed"]
    assert app.tracked_position("intake") == 6


def test_the_happy_path(app, file_complaint, officer) -> None:
    case = file_complaint()
    cid = str(case.id)
    accepted = app.accept(cid, expected_version=2, ctx=officer)
    assert accepted.case.status is CaseStatus.IN_PROGRESS
    assert accepted.case.response_due is not None
    first = app.respond(cid, text="Berkas sedang diproses.", expected_version=0, ctx=officer)
    second = app.respond(cid, text="Jadwal ukur: Senin.", expected_version=0, ctx=officer)
    resolved = app.resolve(cid, summary="Pengukuran selesai.", expected_version=0, ctx=officer)
    assert resolved.case.status is CaseStatus.RESOLVED
    closed = app.close_case(cid, reason="confirmed by phone", expected_version=0, ctx=officer)
    assert closed.case.status is CaseStatus.CLOSED
    events = stored(app)
    answers = [e for e in events if type(e).__name__ == "ReporterAnswered"]
    assert [a.first_response for a in answers] == [True, False]
    assert (
        first.position
        < second.position
        < resolved.position
        < closed.position
        == app.head_position()
    )
    assert [e.originator_version for e in events] == list(range(1, len(events) + 1))
    assert all(e.meta["actor"]["id"] == "officer-7" for e in events[2:])


def test_officers_texts_are_recorded_with_personal_numbers_masked(
    app, file_complaint, officer
) -> None:
    """An officer who types a citizen's NIK or number into a reply, a note or a summary records
    (and sends) the redacted copy only: routing keeps no unredacted officer text."""
    case = file_complaint()
    cid = str(case.id)
    app.accept(cid, expected_version=2, ctx=officer)
    nik, phone = "3273019912870001", "0813-9988-7766"
    app.respond(
        cid,
        text=f"Bapak dengan NIK {nik} kami hubungi di {phone}.",
        expected_version=0,
        ctx=officer,
    )
    reassign(app, case, officer, note=f"pelapor NIK {nik}, wa {phone}")
    app.accept(cid, expected_version=0, ctx=officer)
    app.resolve(cid, summary=f"Sertifikat diserahkan, NIK {nik}", expected_version=0, ctx=officer)
    app.reopen(cid, reason=f"pelapor telp {phone}", expected_version=0, ctx=officer)
    app.close_case(cid, reason=f"dikonfirmasi ke {phone}", expected_version=0, ctx=officer)
    recorded = repr([vars(event) for event in stored(app)])
    assert nik not in recorded
    assert "9988" not in recorded
    answered = next(e for e in stored(app) if type(e).__name__ == "ReporterAnswered")
    assert answered.text == "Bapak dengan NIK [NIK] kami hubungi di [nomor telepon]."


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"to_office": "KANTAH.99.99"}, "to_office_code"),
        ({"to_office": ""}, "to_office_code"),
        ({"reason_code": None}, "reason_code"),
        ({"reason_code": ReasonCode.SLA_BREACH}, "reason_code"),
        ({"kind": ReassignmentKind.REROUTE}, "kind"),
        ({"to_office": "KANTAH.32.73"}, "to_office_code"),  # already held there
        ({"kind": ReassignmentKind.ESCALATE, "to_office": "KANWIL.33"}, "to_office_code"),
        ({"kind": ReassignmentKind.ESCALATE, "to_office": "KANTAH.32.04"}, "to_office_code"),
        ({"kind": ReassignmentKind.DELEGATE, "to_office": "KANWIL.32"}, "to_office_code"),
        ({"kind": ReassignmentKind.TRANSFER, "to_office": "KANWIL.32"}, "to_office_code"),
        ({"kind": ReassignmentKind.RETURN_TO_TRIAGE, "to_office": "PUSAT.PSKP"}, "to_office_code"),
    ],
)
def test_invalid_reassignments_are_refused_and_store_nothing(
    app, file_complaint, officer, kwargs: dict[str, Any], field: str
) -> None:
    case = file_complaint(regency="32.73")
    head = app.head_position()
    with pytest.raises(ValidationError) as raised:
        reassign(app, case, officer, **kwargs)
    assert [v.field for v in raised.value.violations] == [field]
    assert app.head_position() == head


@pytest.mark.parametrize(
    ("kind", "target"),
    [
        (ReassignmentKind.ESCALATE, "KANWIL.32"),
        (ReassignmentKind.ESCALATE, "PUSAT.IP3"),
        (ReassignmentKind.TRANSFER, "KANTAH.33.01"),
        (ReassignmentKind.RETURN_TO_TRIAGE, ""),
    ],
)
def test_valid_directions(app, file_complaint, officer, kind, target) -> None:
    case = file_complaint(regency="32.73")
    result = reassign(app, case, officer, kind=kind, to_office=target)
    assert result.case.holder == (target or "PUSAT.IP3")
    assert result.case.status is CaseStatus.ASSIGNED


def test_delegation_goes_down_the_tree(app, file_complaint, officer) -> None:
    case = file_complaint(category=Category.SPATIAL_PLANNING, regency="32.73")
    assert case.holder == "KANWIL.32"
    result = reassign(
        app,
        case,
        officer,
        kind=ReassignmentKind.DELEGATE,
        to_office="KANTAH.32.73",
        reason_code=ReasonCode.FIELD_WORK_NEEDED,
    )
    assert result.case.holder == "KANTAH.32.73"
    reassigned = stored(app)[-1]
    assert (reassigned.from_office, reassigned.to_office, reassigned.kind) == (
        "KANWIL.32",
        "KANTAH.32.73",
        "DELEGATE",
    )


def test_illegal_transitions_are_failed_preconditions(app, file_complaint, officer) -> None:
    case = file_complaint()
    cid = str(case.id)
    head = app.head_position()
    with pytest.raises(InvalidStateError):
        app.resolve(cid, summary="x", expected_version=0, ctx=officer)
    with pytest.raises(InvalidStateError):
        app.respond(cid, text="x", expected_version=0, ctx=officer)
    with pytest.raises(InvalidStateError):
        app.reopen(cid, reason="x", expected_version=0, ctx=officer)
    app.accept(cid, expected_version=0, ctx=officer)
    with pytest.raises(InvalidStateError):
        app.accept(cid, expected_version=0, ctx=officer)
    app.close_case(cid, reason="spam", expected_version=0, ctx=officer)
    with pytest.raises(InvalidStateError):
        reassign(app, case, officer)
    with pytest.raises(InvalidStateError):
        app.close_case(cid, reason="again", expected_version=0, ctx=officer)
    assert app.head_position() == head + 2


def test_expected_version_mismatch_is_a_conflict(app, file_complaint, officer) -> None:
    case = file_complaint()
    with pytest.raises(ConcurrencyConflictError, match="version 2, not 1"):
        app.accept(str(case.id), expected_version=1, ctx=officer)
    assert app.accept(str(case.id), expected_version=2, ctx=officer).case.version == 3


def test_unknown_cases_and_empty_texts(app, file_complaint, officer) -> None:
    with pytest.raises(NotFoundError):
        app.accept(str(uuid.uuid4()), expected_version=0, ctx=officer)
    with pytest.raises(NotFoundError):
        app.get_case("ADU-2026-NOSUCH")
    case = file_complaint()
    app.accept(str(case.id), expected_version=0, ctx=officer)
    for call in (
        lambda: app.respond(str(case.id), text="  ", expected_version=0, ctx=officer),
        lambda: app.resolve(str(case.id), summary="", expected_version=0, ctx=officer),
        lambda: app.close_case(str(case.id), reason="", expected_version=0, ctx=officer),
        lambda: app.get_case(""),
    ):
        with pytest.raises(ValidationError):
            call()


def test_classification_reroutes_by_the_rules(app, file_complaint, officer) -> None:
    case = file_complaint(category=Category.UNCLASSIFIED, regency="35.78")
    assert case.holder == "PUSAT.IP3"
    result = app.classify(
        str(case.id),
        category=Category.LAND_DISPUTE,
        scope=Scope.REGIONAL,
        location=None,
        note="sengketa batas antar desa",
        expected_version=0,
        ctx=officer,
    )
    assert result.case.holder == "KANWIL.35"
    classified, rerouted = stored(app)[-2:]
    assert type(classified).__name__ == "Classified"
    assert (rerouted.kind, rerouted.reason_code, rerouted.rule_id) == (
        "REROUTE",
        "RECLASSIFIED",
        "dispute-regional-to-kanwil",
    )
    assert rerouted.ruleset_version == app.rules.version
    assert result.case.reassignment_count == 1


def test_classification_does_not_pull_back_a_deliberate_escalation(
    app, file_complaint, officer
) -> None:
    case = file_complaint(category=Category.LAND_SERVICE, regency="32.73")
    reassign(
        app,
        case,
        officer,
        kind=ReassignmentKind.ESCALATE,
        to_office="KANWIL.32",
        reason_code=ReasonCode.NEEDS_HIGHER_AUTHORITY,
    )
    result = app.classify(
        str(case.id),
        category=None,
        scope=Scope.LOCAL,
        location=None,
        note="",
        expected_version=0,
        ctx=officer,
    )
    assert result.case.holder == "KANWIL.32"
    assert names(app)[-1] == "Classified"


def test_classification_validates_the_location(app, file_complaint, officer) -> None:
    case = file_complaint()
    head = app.head_position()
    with pytest.raises(ValidationError) as raised:
        app.classify(
            str(case.id),
            category=None,
            scope=None,
            location=Location(province_code="33", regency_code="32.73"),
            note="",
            expected_version=0,
            ctx=officer,
        )
    assert raised.value.violations[0].field == "location.regency_code"
    with pytest.raises(ValidationError):
        app.classify(
            str(case.id),
            category=None,
            scope=None,
            location=None,
            note="",
            expected_version=0,
            ctx=officer,
        )
    assert app.head_position() == head
    moved = app.classify(
        str(case.id),
        category=None,
        scope=None,
        location=Location(regency_code="34.71"),
        note="",
        expected_version=0,
        ctx=officer,
    )
    assert moved.case.holder == "KANTAH.34.71"
    assert moved.case.location.province_code == "34"


def test_ping_pong_when_returned_to_an_office_it_left(app, file_complaint, officer) -> None:
    case = file_complaint(regency="32.73")
    reassign(app, case, officer, kind=ReassignmentKind.TRANSFER, to_office="KANTAH.32.04")
    result = reassign(app, case, officer, kind=ReassignmentKind.TRANSFER, to_office="KANTAH.32.73")
    assert result.case.ping_pong_flagged
    flagged = stored(app)[-1]
    assert type(flagged).__name__ == "PingPongFlagged"
    assert (flagged.returned_to, flagged.supervising_office) == ("KANTAH.32.73", "KANWIL.32")


def test_ping_pong_after_more_than_the_limit(app, file_complaint, officer) -> None:
    case = file_complaint(regency="32.73")
    chain = ["KANTAH.32.04", "KANTAH.32.05", "KANTAH.32.06", "KANTAH.32.07"]
    for target in chain:
        result = reassign(app, case, officer, to_office=target)
        assert not result.case.ping_pong_flagged
    result = reassign(app, case, officer, to_office="KANTAH.33.01")
    assert result.case.ping_pong_flagged
    flagged = stored(app)[-1]
    assert (flagged.reassignment_count, flagged.returned_to) == (5, "")
    assert flagged.supervising_office == "PUSAT.IP3"


def test_the_ping_pong_limit_is_configurable(clock, policy: RoutingPolicy, officer) -> None:
    from dataclasses import replace

    strict = RoutingApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        policy=replace(policy, ping_pong_limit=1),
        clock=clock,
    )
    strict.open_case(
        Filing(
            uuid.uuid4(),
            "ADU-2026-BBBBBB",
            Category.LAND_SERVICE,
            Location(province_code="32", regency_code="32.73"),
            False,
            clock.now(),
        ),
        upstream="intake",
        position=1,
        ctx=SERVICE_CTX,
    )
    case_id = strict.read_notifications(0, 1)[0].originator_id
    case = strict.get_case(str(case_id))
    reassign(strict, case, officer, to_office="KANTAH.32.04")
    assert reassign(strict, case, officer, to_office="KANTAH.32.05").case.ping_pong_flagged


def test_custody_chain_records_every_holder(app, clock, file_complaint, officer) -> None:
    case = file_complaint(regency="32.73")
    clock.advance(hours=5)
    reassign(
        app,
        case,
        officer,
        kind=ReassignmentKind.ESCALATE,
        to_office="KANWIL.32",
        reason_code=ReasonCode.WIDE_IMPACT,
    )
    clock.advance(hours=2)
    result = reassign(
        app,
        case,
        officer,
        kind=ReassignmentKind.DELEGATE,
        to_office="KANTAH.32.04",
        reason_code=ReasonCode.FIELD_WORK_NEEDED,
    )
    custody = result.case.custody
    assert [
        (c["office"], c["received_from"], c["handed_to"], c["held_seconds"]) for c in custody
    ] == [
        ("KANTAH.32.73", "", "KANWIL.32", 5 * 3600),
        ("KANWIL.32", "KANTAH.32.73", "KANTAH.32.04", 2 * 3600),
        ("KANTAH.32.04", "KANWIL.32", "", 0),
    ]
    held = [e.held_seconds for e in stored(app) if type(e).__name__ == "Reassigned"]
    assert held == [5 * 3600, 2 * 3600]


def test_withdrawal_ends_the_case(app, file_complaint) -> None:
    case = file_complaint()
    app.complaint_withdrawn(
        case.id, "sudah selesai sendiri", upstream="intake", position=50, ctx=SERVICE_CTX
    )
    assert app.get_case(str(case.id)).status is CaseStatus.WITHDRAWN
    app.complaint_withdrawn(case.id, "again", upstream="intake", position=51, ctx=SERVICE_CTX)
    assert names(app)[-1] == "Withdrawn"
    assert app.tracked_position("intake") == 51


def test_a_reporter_message_before_resolution_is_only_tracked(app, file_complaint) -> None:
    case = file_complaint()
    head = app.head_position()
    app.reporter_replied(case.id, upstream="intake", position=77, ctx=SERVICE_CTX)
    assert app.head_position() == head
    assert app.tracked_position("intake") == 77


def test_every_stored_event_is_published(app, file_complaint, officer, clock) -> None:
    """Dense positions: each event class the Case can store has a builder in the contract."""
    levy = file_complaint(category=Category.ILLEGAL_LEVY)
    case = file_complaint(category=Category.UNCLASSIFIED)
    cid = str(case.id)
    app.classify(
        cid,
        category=Category.LAND_SERVICE,
        scope=None,
        location=Location(regency_code="32.73"),
        note="",
        expected_version=0,
        ctx=officer,
    )
    app.accept(cid, expected_version=0, ctx=officer)
    reassign(app, app.get_case(cid), officer, to_office="KANTAH.32.04")
    reassign(app, app.get_case(cid), officer, to_office="KANTAH.32.73")  # ping-pong
    app.accept(cid, expected_version=0, ctx=officer)
    app.respond(cid, text="ok", expected_version=0, ctx=officer)
    app.resolve(cid, summary="ok", expected_version=0, ctx=officer)
    app.reopen(cid, reason="not fixed", expected_version=0, ctx=officer)
    app.resolve(cid, summary="ok", expected_version=0, ctx=officer)
    app.close_case(cid, reason="done", expected_version=0, ctx=officer)
    third = file_complaint()
    app.complaint_withdrawn(levy.id, "", upstream="intake", position=100, ctx=SERVICE_CTX)
    clock.advance(days=30)
    app.enforce_deadlines()
    assert app.get_case(str(third.id)).breached

    event_classes = {type(e) for e in stored(app)}
    assert {c.__name__ for c in event_classes} == {
        "Opened",
        "Routed",
        "Classified",
        "Accepted",
        "Reassigned",
        "PingPongFlagged",
        "ReporterAnswered",
        "Resolved",
        "Reopened",
        "Closed",
        "Withdrawn",
        "SlaBreached",
    }
    # Every event class the Case can record is one of those (nothing unpublished hides).
    recordable = {
        value
        for value in vars(Case).values()
        if isinstance(value, type)
        and issubclass(value, Case.Event)
        and value.__name__ not in {"Event", "Created"}  # eventsourcing's own base classes
    }
    assert recordable <= event_classes
    published = translator()
    for notification in app.read_notifications(0, 10_000):
        envelope = published.translate(notification, app.decode(notification))
        assert envelope is not None, notification.topic
        assert envelope.complaint_id == str(notification.originator_id)
        assert envelope.WhichOneof("payload") is not None
