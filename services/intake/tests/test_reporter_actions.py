"""The reporter's actions after filing: follow-up messages, withdrawal, rating, status requests;
routing's case status as intake learns it; and the gRPC codes for each failure."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import grpc
import pytest

from aduan.core.context import CommandContext
from aduan.core.errors import InvalidStateError, NotFoundError, ValidationError
from aduan.eventstore.store import DuplicateEventError
from aduan.v1 import common_pb2, events_pb2, intake_pb2
from aduan_intake.application import IntakeApplication
from aduan_intake.casestatus import CaseStatusProcessor
from aduan_intake.domain import Attachment, CaseStatus, Channel
from aduan_intake.filing import FilingRequest, FilingResult


@pytest.fixture
def filed(
    app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> FilingResult:
    return app.file_complaint(filing(), ctx)


def routing_envelope(complaint_id: str, position: int, payload: str) -> events_pb2.Envelope:
    envelope = events_pb2.Envelope(
        event_id=f"routing:{position}",
        complaint_id=complaint_id,
        service="routing",
        position=position,
    )
    getattr(envelope, payload).SetInParent()
    return envelope


def test_follow_up_messages_are_deduplicated_by_key(
    app: IntakeApplication, filed: FilingResult, ctx: CommandContext, event_types: Any
) -> None:
    first = app.add_reporter_message(
        filed.ticket_number,  # a ticket number works wherever a complaint id does
        idempotency_key="msg-1",
        channel=Channel.WHATSAPP,
        text="Ini foto patok batasnya.",
        attachments=[Attachment(uri="whatsapp-media:123", media_type="image/jpeg")],
        ctx=ctx,
    )
    repeat = app.add_reporter_message(
        str(filed.complaint_id),
        idempotency_key="msg-1",
        channel=Channel.WHATSAPP,
        text="Ini foto patok batasnya.",
        attachments=[],
        ctx=ctx,
    )
    assert first.created
    assert not repeat.created
    assert repeat.message_id == first.message_id
    assert repeat.position == first.position
    assert event_types(app) == ["Complaint.Filed", "Complaint.MessageAdded"]


def test_a_message_needs_text_or_an_attachment(
    app: IntakeApplication, filed: FilingResult, ctx: CommandContext
) -> None:
    with pytest.raises(ValidationError) as raised:
        app.add_reporter_message(
            filed.ticket_number,
            idempotency_key="m",
            channel=Channel.WEB,
            text=" ",
            attachments=[],
            ctx=ctx,
        )
    assert [v.field for v in raised.value.violations] == ["text"]


def test_withdrawal_before_resolution(
    app: IntakeApplication, filed: FilingResult, ctx: CommandContext, event_types: Any
) -> None:
    app.withdraw_complaint(filed.ticket_number, "Sudah diselesaikan secara kekeluargaan.", ctx)
    assert app.get_complaint(filed.ticket_number).withdrawn
    with pytest.raises(InvalidStateError):
        app.withdraw_complaint(filed.ticket_number, "again", ctx)
    with pytest.raises(InvalidStateError):
        app.add_reporter_message(
            filed.ticket_number,
            idempotency_key="late",
            channel=Channel.WEB,
            text="halo",
            attachments=[],
            ctx=ctx,
        )
    assert event_types(app) == ["Complaint.Filed", "Complaint.Withdrawn"]


def test_no_withdrawal_after_resolution_until_reopened(
    app: IntakeApplication, filed: FilingResult, ctx: CommandContext
) -> None:
    processor = CaseStatusProcessor(app)
    complaint_id = str(filed.complaint_id)
    processor.process(routing_envelope(complaint_id, 1, "case_opened"))
    processor.process(routing_envelope(complaint_id, 2, "case_resolved"))
    with pytest.raises(InvalidStateError, match="resolved"):
        app.withdraw_complaint(filed.ticket_number, "", ctx)
    processor.process(routing_envelope(complaint_id, 3, "case_reopened"))
    app.withdraw_complaint(filed.ticket_number, "", ctx)
    assert processor.last_position("routing") == 3


def test_a_rating_comes_after_resolution_and_only_once(
    app: IntakeApplication, filed: FilingResult, ctx: CommandContext
) -> None:
    with pytest.raises(InvalidStateError, match="not resolved"):
        app.rate_resolution(filed.ticket_number, 4, "", ctx)
    with pytest.raises(ValidationError):
        app.rate_resolution(filed.ticket_number, 6, "", ctx)
    app.note_case_status("routing", 7, str(filed.complaint_id), CaseStatus.CLOSED)
    app.rate_resolution(filed.ticket_number, 4, "Cepat dan jelas.", ctx)
    with pytest.raises(InvalidStateError, match="rated already"):
        app.rate_resolution(filed.ticket_number, 5, "", ctx)
    assert app.get_complaint(filed.ticket_number).rating == 4


def test_case_status_events_are_tracked_once_and_in_order(
    app: IntakeApplication, filed: FilingResult
) -> None:
    processor = CaseStatusProcessor(app)
    complaint_id = str(filed.complaint_id)
    processor.process(routing_envelope(complaint_id, 1, "case_resolved"))
    with pytest.raises(DuplicateEventError):
        processor.process(routing_envelope(complaint_id, 1, "case_resolved"))
    # A status recorded from a later position is not overwritten by an earlier one.
    app.tables.note_case_status(complaint_id, CaseStatus.ACTIVE.value, 0)
    assert app.case_status(filed.complaint_id) == CaseStatus.RESOLVED
    assert app.head_position() == 1, "routing's facts are not stored as intake events"


def test_status_requests_are_deduplicated_by_key(
    app: IntakeApplication, filed: FilingResult, ctx: CommandContext, event_types: Any
) -> None:
    first = app.request_status(
        filed.ticket_number, channel=Channel.WHATSAPP, idempotency_key="wamid.1", ctx=ctx
    )
    again = app.request_status(
        filed.ticket_number, channel=Channel.WHATSAPP, idempotency_key="wamid.1", ctx=ctx
    )
    assert again == first
    app.request_status(filed.ticket_number, channel=Channel.WEB, idempotency_key="", ctx=ctx)
    assert event_types(app).count("Complaint.StatusRequested") == 2


def test_unknown_complaints_are_not_found(app: IntakeApplication, ctx: CommandContext) -> None:
    for ref in (str(uuid.uuid4()), "ADU-2026-ZZZZZZ"):
        with pytest.raises(NotFoundError):
            app.withdraw_complaint(ref, "", ctx)


# -- the same through gRPC: the codes callers see ----------------------------------------------


def test_grpc_codes_for_reporter_actions(
    intake_server: Any, file_request: Callable[..., intake_pb2.FileComplaintRequest]
) -> None:
    stub = intake_server.stub
    filed = stub.FileComplaint(file_request())

    added = stub.AddReporterMessage(
        intake_pb2.AddReporterMessageRequest(
            complaint_id=filed.ticket_number,
            idempotency_key="m-1",
            channel=common_pb2.CHANNEL_WEB,
            text="Tambahan keterangan.",
        )
    )
    assert added.created
    assert added.position.position == 2

    def code_of(call: Callable[[], Any]) -> grpc.StatusCode:
        with pytest.raises(grpc.RpcError) as raised:
            call()
        return raised.value.code()  # type: ignore[no-any-return]

    assert (
        code_of(
            lambda: stub.WithdrawComplaint(
                intake_pb2.WithdrawComplaintRequest(complaint_id=str(uuid.uuid4()))
            )
        )
        == grpc.StatusCode.NOT_FOUND
    )
    assert (
        code_of(
            lambda: stub.RateResolution(
                intake_pb2.RateResolutionRequest(complaint_id=filed.complaint_id, rating=5)
            )
        )
        == grpc.StatusCode.FAILED_PRECONDITION
    )
    assert (
        code_of(
            lambda: stub.RateResolution(
                intake_pb2.RateResolutionRequest(complaint_id=filed.complaint_id, rating=0)
            )
        )
        == grpc.StatusCode.INVALID_ARGUMENT
    )

    intake_server.app.note_case_status("routing", 1, filed.complaint_id, CaseStatus.RESOLVED)
    assert (
        code_of(
            lambda: stub.WithdrawComplaint(
                intake_pb2.WithdrawComplaintRequest(complaint_id=filed.ticket_number)
            )
        )
        == grpc.StatusCode.FAILED_PRECONDITION
    )
    rated = stub.RateResolution(
        intake_pb2.RateResolutionRequest(
            complaint_id=filed.ticket_number, rating=5, comment="Terima kasih"
        )
    )
    status = stub.RequestStatus(
        intake_pb2.RequestStatusRequest(
            complaint_id=filed.ticket_number,
            channel=common_pb2.CHANNEL_WHATSAPP,
            idempotency_key="s-1",
        )
    )
    assert status.position.position == rated.position.position + 1


def test_fifty_concurrent_follow_ups_with_one_key_add_one_message(
    intake_server: Any,
    file_request: Callable[..., intake_pb2.FileComplaintRequest],
    event_types: Any,
) -> None:
    filed = intake_server.stub.FileComplaint(file_request())
    request = intake_pb2.AddReporterMessageRequest(
        complaint_id=filed.complaint_id,
        idempotency_key="wamid.burst",
        channel=common_pb2.CHANNEL_WHATSAPP,
        text="Mohon segera ditindaklanjuti.",
    )
    calls = [intake_server.stub.AddReporterMessage.future(request, timeout=30) for _ in range(50)]
    responses = [call.result() for call in calls]
    assert len({r.message_id for r in responses}) == 1
    assert sum(r.created for r in responses) == 1
    assert event_types(intake_server.app) == ["Complaint.Filed", "Complaint.MessageAdded"]
