"""Anonymous reporters' tracking codes: what a code looks like, that only its keyed hash is
stored (alone and in a group commit), the status asked with it, and the same through gRPC."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from aduan.core.context import CommandContext
from aduan.core.errors import NotFoundError
from aduan.eventstore.store import store_env
from aduan.v1 import common_pb2, events_pb2, intake_pb2
from aduan_intake.application import IntakeApplication
from aduan_intake.casestatus import CaseStatusProcessor
from aduan_intake.domain import Channel
from aduan_intake.filing import FilingRequest, FilingResult
from aduan_intake.sealing import MasterKey
from aduan_intake.sidetables import SqlSideTables
from aduan_intake.trackingcodes import (
    ALPHABET,
    CODE_LENGTH,
    TrackedState,
    canonical_tracking_code,
    new_tracking_code,
)
from aduan_intake.validation import validate_filing


def anonymous(filing: Callable[..., FilingRequest], key: str = "anon-1") -> FilingRequest:
    return filing(idempotency_key=key, reporter_name="", reporter_phone="", anonymous=True)


# -- the code ----------------------------------------------------------------------------------


def test_codes_are_ten_unambiguous_characters_in_two_groups() -> None:
    codes = {new_tracking_code() for _ in range(500)}
    assert len(codes) == 500
    for code in codes:
        first, second = code.split("-")
        assert len(first) == len(second) == CODE_LENGTH // 2
        assert set(first + second) <= set(ALPHABET)
    assert not set("01ILO") & set(ALPHABET)


def test_a_code_is_read_whatever_its_case_spaces_and_hyphens() -> None:
    assert canonical_tracking_code(" 7kq9m 2xhpa ") == "7KQ9M2XHPA"
    assert canonical_tracking_code("7KQ9M-2XHPA") == "7KQ9M2XHPA"
    for wrong in ("", "7KQ9M-2XHP", "7KQ9M-2XHPAA", "7KQ9M-2XHP0", "ADU-2026-7KQ9M2"):
        assert canonical_tracking_code(wrong) is None


def test_the_tracking_digest_is_keyed_and_apart_from_the_phone_digest() -> None:
    key = MasterKey.development_key()
    other = MasterKey(bytes(32))
    assert key.tracking_digest("7KQ9M2XHPA") != other.tracking_digest("7KQ9M2XHPA")
    assert key.tracking_digest("7KQ9M2XHPA") != key.phone_digest("7KQ9M2XHPA")


# -- filing and asking, on each store ------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def tracked_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IntakeApplication]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'intake.sqlite'}"
    application = IntakeApplication(env=store_env(url, "intake"))
    yield application
    application.close()


def stored_rows(app: IntakeApplication) -> list[tuple[str, str]]:
    tables = app.tables
    if isinstance(tables, SqlSideTables):
        with tables.datastore.transaction(commit=False) as cursor:
            cursor.execute(f"SELECT code_digest, complaint_id FROM {tables.tracking}")
            return [(str(r["code_digest"]), str(r["complaint_id"])) for r in cursor.fetchall()]
    return list(tables._tracking.items())  # type: ignore[attr-defined]


def check_only_the_hash_is_stored(app: IntakeApplication, result: FilingResult) -> None:
    rows = stored_rows(app)
    canonical = canonical_tracking_code(result.tracking_code)
    assert canonical is not None
    assert (app.master_key.tracking_digest(canonical), str(result.complaint_id)) in rows
    assert all(canonical not in digest for digest, _ in rows)


def test_an_anonymous_filing_gets_a_code_once_and_an_identified_one_none(
    tracked_app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    first = tracked_app.file_complaint(anonymous(filing), ctx)
    assert canonical_tracking_code(first.tracking_code) is not None
    check_only_the_hash_is_stored(tracked_app, first)
    again = tracked_app.file_complaint(anonymous(filing), ctx)
    assert (again.created, again.tracking_code) == (False, "")
    identified = tracked_app.file_complaint(filing(idempotency_key="named-1"), ctx)
    assert identified.tracking_code == ""
    assert len(stored_rows(tracked_app)) == 1


def test_the_status_is_asked_with_the_code(
    tracked_app: IntakeApplication,
    filing: Callable[..., FilingRequest],
    ctx: CommandContext,
    event_types: Any,
) -> None:
    filed = tracked_app.file_complaint(anonymous(filing), ctx)

    def ask(code: str, key: str) -> Any:
        return tracked_app.request_status_by_tracking_code(
            code, channel=Channel.WEB, idempotency_key=key, ctx=ctx
        )

    asked = ask(filed.tracking_code.lower().replace("-", " "), "st-1")
    assert (asked.ticket_number, asked.status) == (filed.ticket_number, TrackedState.RECEIVED)
    assert ask(filed.tracking_code, "st-1").position == asked.position, "a repeat records nothing"
    processor = CaseStatusProcessor(tracked_app)
    for position, payload in enumerate(["case_routed", "case_resolved"], start=1):
        envelope = events_pb2.Envelope(
            event_id=f"routing:{position}",
            complaint_id=str(filed.complaint_id),
            service="routing",
            position=position,
        )
        getattr(envelope, payload).SetInParent()
        if payload == "case_routed":
            envelope.case_routed.to_office.code = "KANTAH.32.73"
        processor.process(envelope)
        expected = TrackedState.ASSIGNED if payload == "case_routed" else TrackedState.RESOLVED
        assert ask(filed.tracking_code, f"st-{payload}").status == expected
    assert event_types(tracked_app).count("Complaint.StatusRequested") == 3


def test_a_wrong_code_is_not_found_whatever_it_is(
    tracked_app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    filed = tracked_app.file_complaint(anonymous(filing), ctx)
    unsaved = uuid.uuid4()
    orphan = tracked_app.tracking_codes.issue(unsaved)  # a filing interrupted before its save
    for code in ("", "not a code", new_tracking_code(), orphan, filed.ticket_number):
        with pytest.raises(NotFoundError) as caught:
            tracked_app.request_status_by_tracking_code(
                code, channel=Channel.WEB, idempotency_key="k", ctx=ctx
            )
        assert str(caught.value) == "no complaint has this tracking code"


def test_group_commit_stores_the_codes_in_the_groups_transaction(
    sqlite_app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    same = validate_filing(anonymous(filing, "group-anon"))
    results = sqlite_app.file_group(
        [(same, ctx), (validate_filing(filing(idempotency_key="group-named")), ctx), (same, ctx)]
    )
    first, named, repeat = results
    assert isinstance(first, FilingResult)
    assert isinstance(named, FilingResult)
    assert isinstance(repeat, FilingResult)
    assert first.created
    assert canonical_tracking_code(first.tracking_code) is not None
    assert named.tracking_code == ""
    assert repeat.tracking_code == ""
    check_only_the_hash_is_stored(sqlite_app, first)
    found = sqlite_app.request_status_by_tracking_code(
        first.tracking_code, channel=Channel.WEB, idempotency_key="g", ctx=ctx
    )
    assert found.ticket_number == first.ticket_number


# -- through gRPC -----------------------------------------------------------------------------


def test_grpc_file_anonymously_then_ask_with_the_code(
    intake_server: Any, file_request: Callable[..., intake_pb2.FileComplaintRequest]
) -> None:
    stub = intake_server.stub
    filed = stub.FileComplaint(
        file_request(idempotency_key="grpc-anon", reporter={"anonymous": True})
    )
    assert filed.tracking_code
    named = stub.FileComplaint(file_request(idempotency_key="grpc-named"))
    assert named.tracking_code == ""
    repeated = stub.FileComplaint(
        file_request(idempotency_key="grpc-anon", reporter={"anonymous": True})
    )
    assert (repeated.created, repeated.tracking_code) == (False, "")

    asked = stub.RequestStatusByTrackingCode(
        intake_pb2.RequestStatusByTrackingCodeRequest(
            tracking_code=filed.tracking_code,
            channel=common_pb2.CHANNEL_WEB,
            idempotency_key="grpc-st",
        )
    )
    assert asked.ticket_number == filed.ticket_number
    assert asked.status == common_pb2.COMPLAINT_STATUS_RECEIVED
    assert asked.position.position > filed.position.position

    for wrong in (new_tracking_code(), "junk", named.ticket_number):
        with pytest.raises(grpc.RpcError) as caught:
            stub.RequestStatusByTrackingCode(
                intake_pb2.RequestStatusByTrackingCodeRequest(
                    tracking_code=wrong, channel=common_pb2.CHANNEL_WEB, idempotency_key="w"
                )
            )
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
