"""The complaint view, custody and office queues as projected from synthesised envelopes."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select

from aduan.eventstore.store import DuplicateEventError
from aduan.reference.offices import holding_chain
from aduan.v1 import events_pb2
from aduan_devtools.testing.query import EPOCH, History, file_complaint, lifecycle, office
from aduan_query.projector import Projector
from aduan_query.readmodels import LIVE, make_engine, migrate
from aduan_query.rebuild import compare
from aduan_query.views import ComplaintFilter, ComplaintQueries

KANTAH = "KANTAH.32.73"
KANWIL = "KANWIL.32"


def test_complaint_view_follows_the_case_through_its_life(
    projector: Projector, queries: ComplaintQueries
) -> None:
    history, complaint_id = lifecycle()
    observed: list[tuple[str, str]] = []
    for envelope in history.in_history_order():
        projector.process(envelope)
        row = queries.get_complaint(complaint_id)
        observed.append((row["status"], row["holding_office"]))

    assert [status for status, _ in observed] == [
        "RECEIVED",  # ComplaintFiled
        "RECEIVED",  # CaseOpened
        "ASSIGNED",  # CaseRouted
        "ASSIGNED",  # CaseReassigned
        "IN_PROGRESS",  # CaseAccepted
        "IN_PROGRESS",
        "IN_PROGRESS",
        "IN_PROGRESS",  # SlaBreached
        "RESOLVED",
        "IN_PROGRESS",  # reopened: the holder had accepted it
        "RESOLVED",
        "RESOLVED",  # rated
        "CLOSED",
        "CLOSED",  # erased
    ]
    row = queries.get_complaint("adu-life-0001")  # tickets are case-insensitive
    assert row["complaint_id"] == complaint_id
    assert row["holding_office"] == KANWIL
    assert row["reassignment_count"] == 1
    assert row["breached"] == "FIRST_RESPONSE"
    assert row["rating"] == 4
    assert row["masked_contact"] == "[erased]"
    assert row["reporter_erased"] is True
    assert row["first_response_at"] is not None
    assert row["accepted_at"] is not None
    assert row["closed_at"] is not None
    assert row["resolution_due"] is not None

    custody = queries.custody(complaint_id)
    assert [(c["office_code"], c["received_from"], c["handed_to"]) for c in custody] == [
        (KANTAH, "", KANWIL),
        (KANWIL, KANTAH, ""),
    ]
    assert custody[0]["held_seconds"] == 2 * 3600
    assert custody[1]["until_at"] is not None  # closed ends custody
    assert custody[1]["held_seconds"] == int(
        (timedelta(days=20) - timedelta(hours=2)).total_seconds()
    )


def test_redelivered_events_are_recognised_and_change_nothing(
    projector: Projector, queries: ComplaintQueries
) -> None:
    history, complaint_id = lifecycle()
    envelopes = history.in_history_order()
    for envelope in envelopes[:5]:
        projector.process(envelope)
    before = queries.get_complaint(complaint_id)
    with pytest.raises(DuplicateEventError):
        projector.process(envelopes[3])
    assert projector.process_batch(envelopes[:5]) == 0
    assert queries.get_complaint(complaint_id) == before


def test_routing_ahead_of_intake_gives_the_same_read_models(tmp_path: object) -> None:
    """Independent upstreams: any interleaving yields the same rows as history order."""
    from aduan_devtools.testing.query import scenario

    history, _ = scenario(40, seed=3)
    engines: list[Engine] = []
    for name, order in (
        ("history", history.in_history_order()),
        (
            "routing-first",
            [*history.logs["routing"], *history.logs["intake"], *history.logs["notification"]],
        ),
        (
            "notification-first",
            [*history.logs["notification"], *history.logs["routing"], *history.logs["intake"]],
        ),
        ("random", list(history.interleaved(random.Random(5)))),
    ):
        engine = make_engine(f"sqlite:///{tmp_path}/{name}.sqlite")
        migrate(engine)
        projector = Projector(engine)
        for envelope in order:
            projector.process(envelope)
        engines.append(engine)
    # The live consumer's batches (one transaction each, rows kept in memory between events)
    # give the same rows as one event per transaction.
    pick = random.Random(11)
    for name, order in (
        ("history-batched", history.in_history_order()),
        ("random-batched", list(history.interleaved(random.Random(5)))),
    ):
        engine = make_engine(f"sqlite:///{tmp_path}/{name}.sqlite")
        migrate(engine)
        projector = Projector(engine)
        start = 0
        while start < len(order):
            size = pick.choice((1, 2, 7, 50, 256))
            projector.process_batch(order[start : start + size])
            start += size
        engines.append(engine)
    reference = engines[0]
    for other in engines[1:]:
        with reference.connect() as left, other.connect() as right:
            _, differences = compare(
                left,
                right,
                names=(
                    "complaints",
                    "complaint_versions",
                    "custody",
                    "office_queue",
                    "audit_trail",
                ),
            )
        assert differences == []


def test_partial_row_from_routing_is_completed_by_the_late_complaint_filed(
    projector: Projector, queries: ComplaintQueries
) -> None:
    history, complaint_id = lifecycle()
    routing = history.logs["routing"]
    for envelope in routing[:4]:  # opened, routed, escalated, accepted
        projector.process(envelope)
    partial = queries.get_complaint(complaint_id)
    assert partial["ticket_number"] == "ADU-LIFE-0001"  # from CaseOpened
    assert partial["status"] == "IN_PROGRESS"
    assert partial["holding_office"] == KANWIL
    assert partial["masked_contact"] == ""  # only intake knows it

    projector.process(history.logs["intake"][0])  # ComplaintFiled, late
    complete = queries.get_complaint(complaint_id)
    assert complete["masked_contact"] == "+62812****789"
    assert complete["subject"] == "Sertifikat belum terbit"
    assert complete["status"] == "IN_PROGRESS"
    assert complete["channel"] == "WHATSAPP"


def test_withdrawal_wins_over_later_routing_events(
    projector: Projector, queries: ComplaintQueries
) -> None:
    history = History()
    complaint_id, _ = file_complaint(history, EPOCH, "32.73")
    history.add(
        EPOCH + timedelta(minutes=1), complaint_id, events_pb2.CaseRouted(to_office=office(KANTAH))
    )
    history.add(
        EPOCH + timedelta(minutes=2), complaint_id, events_pb2.ComplaintWithdrawn(reason="x")
    )
    history.add(
        EPOCH + timedelta(minutes=3), complaint_id, events_pb2.CaseClosed(reason="withdrawn")
    )
    history.seal()
    for envelope in history.logs["routing"] + history.logs["intake"]:
        projector.process(envelope)
    assert queries.get_complaint(complaint_id)["status"] == "WITHDRAWN"


def test_office_queue_includes_descendants(projector: Projector, queries: ComplaintQueries) -> None:
    history = History()
    placed = {
        "KANTAH.32.73": file_complaint(history, EPOCH, "32.73")[0],
        "KANWIL.32": file_complaint(history, EPOCH, "32.04")[0],
        "KANTAH.31.71": file_complaint(history, EPOCH, "31.71")[0],
        "KANTAH.95.01": file_complaint(history, EPOCH, "95.01")[0],
        "PUSAT.PSKP": file_complaint(history, EPOCH, "32.01")[0],
    }
    for code, complaint_id in placed.items():
        history.add(
            EPOCH + timedelta(minutes=1),
            complaint_id,
            events_pb2.CaseRouted(to_office=office(code)),
        )
    history.seal()
    for envelope in history.in_history_order():
        projector.process(envelope)

    def held(code: str, descendants: bool) -> set[str]:
        page = queries.list_complaints(
            ComplaintFilter(office_code=code, include_descendants=descendants)
        )
        return {row["holding_office"] for row in page.rows}

    assert held("KANWIL.32", False) == {"KANWIL.32"}
    assert held("KANWIL.32", True) == {"KANWIL.32", "KANTAH.32.73"}
    # Papua Pegunungan has no Kanwil of its own: the Kanwil of Papua sees its Kantah too.
    assert held("KANWIL.91", True) == {"KANTAH.95.01"}
    assert held("KANWIL.95", True) == {"KANTAH.95.01"}
    assert held("PUSAT.IP3", True) == set(placed)
    assert holding_chain("PUSAT.PSKP") == ("PUSAT.PSKP", "PUSAT.IP3")
    assert holding_chain("KANTAH.65.01") == ("KANTAH.65.01", "KANWIL.65", "KANWIL.64", "PUSAT.IP3")


def test_migrations_create_exactly_the_tables_the_code_uses(engine: Engine) -> None:
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), LIVE.metadata) == []
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    assert version == "0002"
    migrate(engine)  # idempotent


def test_tables_from_before_migrations_are_replaced(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/old.sqlite")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE complaints (complaint_id TEXT PRIMARY KEY, ticket_number TEXT NOT NULL)"
        )
        conn.exec_driver_sql("CREATE TABLE tracking (upstream TEXT PRIMARY KEY, position INTEGER)")
        conn.exec_driver_sql("INSERT INTO tracking VALUES ('intake', 7)")
    migrate(engine)
    with engine.connect() as conn:
        assert conn.execute(select(LIVE.tracking)).all() == []  # repaired from the EventLogs
        assert compare_metadata(MigrationContext.configure(conn), LIVE.metadata) == []


def test_a_whatsapp_senders_conversation_is_no_complaint(
    projector: Projector, queries: ComplaintQueries, engine: Engine
) -> None:
    """A Conversation shares intake's ContactRevealed and ReporterErased payloads with the
    Complaint; its events go to the audit trail but never make a complaint view."""
    history, complaint_id = lifecycle()
    conversation = "c0nversa-0000-4000-8000-000000000001"
    at = EPOCH + timedelta(days=400)  # after the whole lifecycle: positions follow time
    history.add(
        at,
        conversation,
        events_pb2.ConversationReplyRequested(
            reporter_id="r-1", reply=events_pb2.CONVERSATION_REPLY_WELCOME, message_id="wamid.1"
        ),
    )
    history.add(at, conversation, events_pb2.ContactRevealed(reporter_id="r-1", purpose="x"))
    history.add(at, conversation, events_pb2.ReporterErased(reporter_id="r-1", reason="asked"))
    history.seal()
    for envelope in history.logs["intake"]:
        if envelope.complaint_id == conversation:
            kind = {"ConversationReplyRequested": "Started"}.get(
                envelope.event_type, envelope.event_type.removeprefix("Reporter")
            )
            envelope.stored_topic = f"aduan_intake.domain:Conversation.{kind}"
    for envelope in history.in_history_order():
        projector.process(envelope)
    rows = queries.list_complaints(ComplaintFilter()).rows
    assert [row["complaint_id"] for row in rows] == [complaint_id]
    with engine.connect() as conn:
        audited = conn.execute(
            select(projector.tables.audit.c.event_type).where(
                projector.tables.audit.c.complaint_id == conversation
            )
        ).scalars()
        assert sorted(audited) == [
            "ContactRevealed",
            "ConversationReplyRequested",
            "ReporterErased",
        ]
