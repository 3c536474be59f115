"""Sealed personal data: envelope encryption per reporter, masked contacts in events, the
allow-listed reveal with its audit event, erasure by key destruction, anonymous filings."""

from __future__ import annotations

import base64
import logging
import os
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from e2e.canary import CANARY, find_canary

from aduan.core.context import CommandContext
from aduan.core.errors import InvalidStateError, NotFoundError
from aduan.v1 import intake_pb2
from aduan_intake.application import IntakeApplication
from aduan_intake.contract import translator
from aduan_intake.domain import reporter_id_for
from aduan_intake.filing import FilingRequest
from aduan_intake.sealing import (
    Identity,
    MasterKey,
    MasterKeyError,
    mask_email,
    mask_phone,
    open_identity,
    seal_identity,
)


def canary_filing(filing: Callable[..., FilingRequest], **overrides: Any) -> FilingRequest:
    fields = {
        "reporter_name": CANARY.name,
        "reporter_phone": CANARY.phone,
        "reporter_email": CANARY.email,
        "reporter_nik": CANARY.nik,
    }
    fields.update(overrides)
    return filing(**fields)


def store_bytes(path: Path) -> bytes:
    """The SQLite database with its write-ahead log and anything else beside it."""
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))


def grpc_canary_request(**overrides: Any) -> intake_pb2.FileComplaintRequest:
    request = intake_pb2.FileComplaintRequest(
        idempotency_key="canary-1",
        channel=2,
        reporter=intake_pb2.Reporter(
            name=CANARY.name, phone=CANARY.phone, email=CANARY.email, nik=CANARY.nik
        ),
        description="Sertipikat hak milik saya belum terbit setelah dua tahun.",
    )
    for name, value in overrides.items():
        setattr(request, name, value)
    return request


def test_sealing_round_trip_and_key_binding() -> None:
    key = os.urandom(32)
    identity = Identity(name="Budi", phone="+6281234567890", email="b@example.id", nik="3273")
    sealed = seal_identity(identity, key, "reporter-1")
    assert open_identity(sealed, key, "reporter-1") == identity
    with pytest.raises(ValueError, match="does not match"):
        open_identity(sealed, os.urandom(32), "reporter-1")
    with pytest.raises(ValueError, match="does not match"):
        open_identity(sealed, key, "reporter-2")  # ciphertext is bound to its reporter
    assert "Budi" not in repr(identity)


def test_master_key_setting(caplog: pytest.LogCaptureFixture) -> None:
    secret = os.urandom(32)
    configured = MasterKey.from_setting(base64.b64encode(secret).decode())
    assert not configured.development
    wrapped = configured.new_wrapped_data_key("r")
    assert len(configured.unwrap(wrapped, "r")) == 32
    with pytest.raises(MasterKeyError):
        MasterKey.from_setting(base64.b64encode(secret).decode()).unwrap(
            MasterKey.development_key().new_wrapped_data_key("r"), "r"
        )
    with pytest.raises(MasterKeyError):
        MasterKey.from_setting("not base64!")
    with pytest.raises(MasterKeyError):
        MasterKey.from_setting(base64.b64encode(b"short").decode())
    with caplog.at_level(logging.WARNING):
        assert MasterKey.from_setting("").development
    assert "DEVELOPMENT master key" in caplog.text


def test_masks() -> None:
    assert mask_phone("+6281234567789") == "+62812****789"
    assert mask_email("budi.santoso@example.id") == "b***@example.id"


def test_the_store_holds_only_ciphertext_and_events_carry_masked_contact(
    sqlite_app: IntakeApplication,
    sqlite_path: Path,
    filing: Callable[..., FilingRequest],
    ctx: CommandContext,
) -> None:
    filed = sqlite_app.file_complaint(canary_filing(filing), ctx)
    complaint = sqlite_app.get_complaint(filed.ticket_number)
    assert complaint.masked_contact == "+62813****766"
    assert complaint.reporter_id

    envelopes = [
        translator().translate(n, sqlite_app.decode(n))
        for n in sqlite_app.read_notifications(0, 100)
    ]
    filed_event = envelopes[0]
    assert filed_event is not None
    assert filed_event.complaint_filed.reporter_id == complaint.reporter_id
    assert filed_event.complaint_filed.masked_contact == "+62813****766"
    assert find_canary(filed_event.SerializeToString()) == []
    assert find_canary(store_bytes(sqlite_path)) == []


def test_reveal_only_to_the_notification_service_and_every_reveal_is_recorded(
    intake_server: Any, sqlite_path: Path
) -> None:
    stub = intake_server.stub
    filed = stub.FileComplaint(grpc_canary_request())
    request = intake_pb2.GetReporterContactRequest(
        complaint_id=filed.ticket_number, purpose="notification:CaseRouted"
    )
    for metadata in [
        (),  # the gateway (and administrator) of the fixture
        intake_server.bearer("gateway", sub="gateway:oca"),
        intake_server.bearer("service", sub="service:query"),
        intake_server.bearer("officer", "KANTAH.32.01"),  # not the holding office
    ]:
        with pytest.raises(grpc.RpcError) as raised:
            stub.GetReporterContact(request, metadata=metadata)
        assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert intake_server.app.head_position() == 1

    contact = stub.GetReporterContact(request, metadata=intake_server.notification())
    # A request that names no reveal purpose is a contact reveal: everything but the NIK.
    assert (contact.name, contact.phone, contact.email, contact.nik) == (
        CANARY.name,
        CANARY.phone_e164,
        CANARY.email,
        "",
    )
    assert contact.language == "id"
    notification = intake_server.app.read_notifications(1, 1)[0]
    assert notification.id == contact.position.position
    envelope = translator().translate(notification, intake_server.app.decode(notification))
    assert envelope.event_type == "ContactRevealed"
    assert envelope.contact_revealed.purpose == "notification:CaseRouted"
    assert envelope.contact_revealed.reporter_id == contact.reporter_id
    assert envelope.actor.id == "service:notification"
    assert find_canary(envelope.SerializeToString()) == []
    assert find_canary(store_bytes(sqlite_path)) == []


def test_erasure_destroys_the_key_and_keeps_the_history(
    intake_server: Any, sqlite_path: Path
) -> None:
    app: IntakeApplication = intake_server.app
    stub = intake_server.stub
    caller = intake_server.notification()
    filed = stub.FileComplaint(grpc_canary_request())
    reporter_id = app.get_complaint(filed.complaint_id).reporter_id
    stub.GetReporterContact(
        intake_pb2.GetReporterContactRequest(complaint_id=filed.complaint_id, purpose="test"),
        metadata=caller,
    )
    wrapped_key = app.tables.get_data_key(reporter_id)
    assert wrapped_key is not None
    data_key = app.master_key.unwrap(wrapped_key, reporter_id)
    assert wrapped_key in store_bytes(sqlite_path)

    erased = stub.EraseReporter(
        intake_pb2.EraseReporterRequest(reporter_id=reporter_id, reason="Permintaan pelapor")
    )
    again = stub.EraseReporter(
        intake_pb2.EraseReporterRequest(reporter_id=reporter_id, reason="Permintaan pelapor")
    )
    assert again.position == erased.position

    # The reveal is refused...
    with pytest.raises(grpc.RpcError) as raised:
        stub.GetReporterContact(
            intake_pb2.GetReporterContactRequest(complaint_id=filed.complaint_id, purpose="x"),
            metadata=caller,
        )
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    # ...and nothing the code can reach recovers the identity: the key row is gone, its bytes
    # are overwritten in the database file and the write-ahead log, the phone index is gone.
    assert app.tables.get_data_key(reporter_id) is None
    assert not app.identity_is_recoverable(reporter_id)
    raw = store_bytes(sqlite_path)
    assert wrapped_key not in raw
    assert data_key not in raw
    assert find_canary(raw) == []
    assert app.open_complaint_for_phone(CANARY.phone_e164) is None
    with sqlite3.connect(sqlite_path) as db:
        assert db.execute("SELECT COUNT(*) FROM intake_data_keys").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM intake_phone_index").fetchone()[0] == 0
    with pytest.raises(InvalidStateError):
        app.reveal_contact(filed.complaint_id, "x", CommandContext.from_meta({}))

    # The history stays: every event, in order, still readable.
    envelopes = [translator().translate(n, app.decode(n)) for n in app.read_notifications(0, 100)]
    assert [e.event_type for e in envelopes if e is not None] == [
        "ComplaintFiled",
        "ContactRevealed",
        "ReporterErased",
    ]
    assert envelopes[2] is not None
    assert envelopes[2].reporter_erased.reporter_id == reporter_id
    assert app.get_complaint(filed.ticket_number).description.startswith("Sertipikat")


def test_erasing_an_unknown_reporter_is_not_found(app: IntakeApplication) -> None:
    with pytest.raises(NotFoundError):
        app.erase_reporter("no-such-reporter", "test", CommandContext.from_meta({}))


def test_anonymous_complaints_store_no_identity(intake_server: Any, sqlite_path: Path) -> None:
    request = intake_pb2.FileComplaintRequest(
        idempotency_key="anon-1",
        channel=7,
        reporter=intake_pb2.Reporter(anonymous=True, confidential=True),
        description="Ada pungutan liar di loket pendaftaran kantor pertanahan.",
    )
    filed = intake_server.stub.FileComplaint(request)
    complaint = intake_server.app.get_complaint(filed.complaint_id)
    assert (complaint.reporter_id, complaint.masked_contact) == ("", "")
    assert complaint.anonymous
    assert complaint.confidential
    with sqlite3.connect(sqlite_path) as db:
        for table in ("intake_identities", "intake_phone_index"):
            assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0
        # One data key, under the complaint's pseudonymous id: the one the free text is sealed
        # under (docs/security.md, "Free text: sealed, and a redacted copy").
        keys = db.execute("SELECT reporter_id FROM intake_data_keys").fetchall()
    assert keys == [(reporter_id_for(uuid.UUID(filed.complaint_id)),)]
    with pytest.raises(grpc.RpcError) as raised:
        intake_server.stub.GetReporterContact(
            intake_pb2.GetReporterContactRequest(complaint_id=filed.complaint_id, purpose="x"),
            metadata=intake_server.notification(),
        )
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
