"""Purpose-limited reveals (`reveals.py`): the table of fields per purpose, the application's
reveal returning only those, the ContactRevealed event recording the purpose and the fields, old
reveals stored before purposes loading and publishing as before, and the gRPC request's
`reveal_purpose`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from e2e.canary import CANARY
from eventsourcing.persistence import StoredEvent

from aduan.core.context import CommandContext
from aduan.core.errors import ValidationError
from aduan.v1 import common_pb2, events_pb2, intake_pb2
from aduan_intake.application import IntakeApplication
from aduan_intake.contract import BUILDERS, translator
from aduan_intake.filing import FilingRequest
from aduan_intake.reveals import (
    DEFAULT_PURPOSE,
    IDENTITY_FIELDS,
    REVEALED_FIELDS,
    REVEALED_TO,
    TEXT_PURPOSES,
    Revealed,
    Revealer,
    RevealPurpose,
    may_reveal,
    reveal,
    revealed_fields,
)
from aduan_intake.sealing import Identity

FULL = Identity(
    name="Siti Aminah",
    phone="+6281298765432",
    email="siti@example.id",
    nik="3273014501900001",
    language="su",
)


def _filed(
    app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> str:
    return str(
        app.file_complaint(
            filing(
                reporter_name=CANARY.name,
                reporter_phone=CANARY.phone,
                reporter_email=CANARY.email,
                reporter_nik=CANARY.nik,
            ),
            ctx,
        ).complaint_id
    )


# -- the table ---------------------------------------------------------------------------------


def test_every_purpose_has_fields_and_only_identity_fields() -> None:
    assert set(REVEALED_FIELDS) == set(RevealPurpose)
    for fields in REVEALED_FIELDS.values():
        assert fields <= set(IDENTITY_FIELDS)


@pytest.mark.parametrize(
    ("purpose", "expected"),
    [
        (
            RevealPurpose.CONTACT_REPORTER,
            ("Siti Aminah", "+6281298765432", "siti@example.id", "", "su"),
        ),
        (
            RevealPurpose.FIELD_VERIFICATION,
            ("Siti Aminah", "+6281298765432", "", "3273014501900001", "su"),
        ),
        (
            RevealPurpose.LEGAL_PROCESS,
            ("Siti Aminah", "+6281298765432", "siti@example.id", "3273014501900001", "su"),
        ),
    ],
)
def test_a_reveal_returns_exactly_the_fields_of_its_purpose(
    purpose: RevealPurpose, expected: tuple[str, ...]
) -> None:
    shown = reveal(FULL, purpose)
    assert (shown.name, shown.phone, shown.email, shown.nik, shown.language) == expected


def test_the_revealed_field_names_are_in_identity_order() -> None:
    assert revealed_fields(RevealPurpose.CONTACT_REPORTER) == ("name", "phone", "email", "language")
    assert revealed_fields(RevealPurpose.FIELD_VERIFICATION) == ("name", "phone", "nik", "language")
    assert revealed_fields(RevealPurpose.LEGAL_PROCESS) == (
        "name",
        "phone",
        "email",
        "nik",
        "language",
    )


def test_the_default_purpose_is_the_contact_reveal() -> None:
    assert DEFAULT_PURPOSE is RevealPurpose.CONTACT_REPORTER
    assert "nik" not in REVEALED_FIELDS[DEFAULT_PURPOSE]


# -- the application ---------------------------------------------------------------------------


def test_a_contact_reveal_returns_name_and_contact_not_the_nik(
    app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    complaint_id = _filed(app, filing, ctx)

    identity = app.reveal_contact(
        complaint_id, "call back", ctx, RevealPurpose.CONTACT_REPORTER
    ).identity

    assert (identity.name, identity.phone, identity.email) == (
        CANARY.name,
        CANARY.phone_e164,
        CANARY.email,
    )
    assert identity.nik == ""


def test_a_reveal_without_a_purpose_kind_is_a_contact_reveal(
    sqlite_app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    complaint_id = _filed(sqlite_app, filing, ctx)

    revealed = sqlite_app.reveal_contact(complaint_id, "call back", ctx)

    assert revealed.identity.nik == ""
    assert revealed.identity.phone == CANARY.phone_e164
    event = sqlite_app.decode(sqlite_app.read_notifications(revealed.position - 1, 1)[0])
    assert event.reveal_purpose == "CONTACT_REPORTER"


def test_a_legal_process_reveal_returns_the_nik(
    app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    complaint_id = _filed(app, filing, ctx)

    identity = app.reveal_contact(
        complaint_id, "court summons 12/2026", ctx, RevealPurpose.LEGAL_PROCESS
    ).identity

    assert (identity.name, identity.phone, identity.email, identity.nik) == (
        CANARY.name,
        CANARY.phone_e164,
        CANARY.email,
        CANARY.nik,
    )


def test_an_unknown_purpose_kind_is_refused_and_nothing_is_recorded(
    app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    complaint_id = _filed(app, filing, ctx)
    head = app.head_position()

    with pytest.raises(ValidationError) as raised:
        app.reveal_contact(complaint_id, "call back", ctx, None)

    assert {v.field for v in raised.value.violations} == {"reveal_purpose"}
    assert app.head_position() == head


def test_the_event_records_the_purpose_kind_and_the_fields(
    sqlite_app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    complaint_id = _filed(sqlite_app, filing, ctx)

    revealed = sqlite_app.reveal_contact(
        complaint_id, "site visit", ctx, RevealPurpose.FIELD_VERIFICATION
    )

    notification = sqlite_app.read_notifications(revealed.position - 1, 1)[0]
    envelope = translator().translate(notification, sqlite_app.decode(notification))
    assert envelope is not None
    assert envelope.event_type == "ContactRevealed"
    payload = envelope.contact_revealed
    assert payload.purpose == "site visit"
    assert payload.reveal_purpose == common_pb2.REVEAL_PURPOSE_FIELD_VERIFICATION
    assert list(payload.revealed_fields) == ["name", "phone", "nik", "language"]


# -- reveals stored before purposes ------------------------------------------------------------

OLD_REPORTER_ID = "9e9ee33e-5ad4-5968-a215-8396ac36aa61"
OLD_REVEAL_FIELDS: dict[str, Any] = {
    "timestamp": {"_type_": "datetime_iso", "_data_": "2026-12-05T06:30:00.000000+00:00"},
    "originator_topic": "aduan_intake.domain:Complaint",
    "reporter_id": OLD_REPORTER_ID,
    "purpose": "notification:CaseRouted",
    "meta": {
        "actor": {"id": "service:notification", "kind": "SERVICE", "role": "service", "office": ""},
        "correlation_id": "c",
        "causation_id": "c",
        "traceparent": "",
        "tracestate": "",
    },
}
# Its ContactRevealed payload as published before purposes (deterministic serialisation).
OLD_REVEAL_PAYLOAD = bytes.fromhex(
    "0a2439653965653333652d356164342d353936382d613231352d383339366163333661613631"
    "12176e6f74696669636174696f6e3a43617365526f75746564"
)


def _store_old_reveal(app: IntakeApplication, complaint_id: str, version: int) -> None:
    # The reveal's apply reads nothing of the event, so the fixed reporter id does no harm.
    state = json.dumps(OLD_REVEAL_FIELDS, separators=(",", ":"), ensure_ascii=False).encode()
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=app.get_complaint(complaint_id).id,
                originator_version=version,
                topic="aduan_intake.domain:Complaint.ContactRevealed",
                state=state,
            )
        ]
    )


def test_an_old_reveal_loads_as_not_recorded_and_publishes_the_same_bytes(
    stored_app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    complaint_id = _filed(stored_app, filing, ctx)
    _store_old_reveal(stored_app, complaint_id, version=2)

    notification = stored_app.read_notifications(1, 1)[0]
    event = stored_app.decode(notification)
    payload = BUILDERS[type(event)](event)

    assert payload.SerializeToString(deterministic=True) == OLD_REVEAL_PAYLOAD
    assert payload.reveal_purpose == common_pb2.REVEAL_PURPOSE_UNSPECIFIED
    assert list(payload.revealed_fields) == []
    # The aggregate replays it, and takes a new reveal after it.
    revealed = stored_app.reveal_contact(complaint_id, "call back", ctx)
    assert revealed.position == 3
    assert stored_app.get_complaint(complaint_id).version == 3


def test_the_old_payload_is_what_the_contract_published_before_purposes() -> None:
    before = events_pb2.ContactRevealed(
        reporter_id=OLD_REPORTER_ID, purpose="notification:CaseRouted"
    )
    assert before.SerializeToString(deterministic=True) == OLD_REVEAL_PAYLOAD


# -- gRPC --------------------------------------------------------------------------------------


def test_grpc_reveal_purposes(intake_server: Any) -> None:
    stub = intake_server.stub
    filed = stub.FileComplaint(
        intake_pb2.FileComplaintRequest(
            idempotency_key="reveal-1",
            channel=2,
            reporter=intake_pb2.Reporter(
                name=CANARY.name, phone=CANARY.phone, email=CANARY.email, nik=CANARY.nik
            ),
            description="Sertipikat hak milik saya belum terbit setelah dua tahun.",
        )
    )
    notification = intake_server.notification()
    # Purposes that return the NIK are asked by supervisors of the holding chain or admins.
    admin = intake_server.bearer("admin", sub="admin:legal")

    def ask(kind: int, caller: Any = notification) -> intake_pb2.GetReporterContactResponse:
        response: intake_pb2.GetReporterContactResponse = stub.GetReporterContact(
            intake_pb2.GetReporterContactRequest(
                complaint_id=filed.complaint_id, purpose="why", reveal_purpose=kind
            ),
            metadata=caller,
        )
        return response

    unspecified = ask(common_pb2.REVEAL_PURPOSE_UNSPECIFIED)
    contact = ask(common_pb2.REVEAL_PURPOSE_CONTACT_REPORTER)
    field = ask(common_pb2.REVEAL_PURPOSE_FIELD_VERIFICATION, admin)
    legal = ask(common_pb2.REVEAL_PURPOSE_LEGAL_PROCESS, admin)

    for response in (unspecified, contact):
        assert (response.name, response.phone, response.email, response.nik) == (
            CANARY.name,
            CANARY.phone_e164,
            CANARY.email,
            "",
        )
        assert response.language == "id"
    assert (field.phone, field.email, field.nik) == (CANARY.phone_e164, "", CANARY.nik)
    assert (legal.email, legal.nik) == (CANARY.email, CANARY.nik)

    kinds = []
    for response in (unspecified, contact, field, legal):
        notification = intake_server.app.read_notifications(response.position.position - 1, 1)[0]
        envelope = translator().translate(notification, intake_server.app.decode(notification))
        kinds.append(envelope.contact_revealed.reveal_purpose)
    assert kinds == [
        common_pb2.REVEAL_PURPOSE_CONTACT_REPORTER,
        common_pb2.REVEAL_PURPOSE_CONTACT_REPORTER,
        common_pb2.REVEAL_PURPOSE_FIELD_VERIFICATION,
        common_pb2.REVEAL_PURPOSE_LEGAL_PROCESS,
    ]

    head = intake_server.app.head_position()
    with pytest.raises(grpc.RpcError) as raised:
        ask(42)  # a purpose a newer caller knows and this intake does not
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert intake_server.app.head_position() == head

    # The notification service contacts the reporter; it never gets the NIK, and a refused
    # reveal records nothing.
    for kind in (
        common_pb2.REVEAL_PURPOSE_FIELD_VERIFICATION,
        common_pb2.REVEAL_PURPOSE_LEGAL_PROCESS,
    ):
        with pytest.raises(grpc.RpcError) as refused:
            ask(kind)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "supervisors of the holding office" in str(refused.value.details())
    assert intake_server.app.head_position() == head


def test_who_may_ask_for_which_purpose() -> None:
    """The NIK only to supervisors of the holding chain and admins; the contact to the
    notification service and the officers of the holding office (docs/security.md)."""
    assert set(REVEALED_TO) == set(RevealPurpose)
    contact = {Revealer.CONTACT_SERVICE, Revealer.HOLDING_OFFICER}
    for purpose in RevealPurpose:
        for revealer in Revealer:
            if "nik" in REVEALED_FIELDS[purpose]:
                expected = revealer in {Revealer.CHAIN_SUPERVISOR, Revealer.ADMIN}
            else:
                expected = revealer in contact
            assert may_reveal(purpose, revealer) is expected, (purpose, revealer)
        assert not may_reveal(purpose, None)
    # An unknown purpose is refused as invalid later; here it needs some right to reveal.
    assert all(may_reveal(None, revealer) for revealer in Revealer)
    assert not may_reveal(None, None)


def test_the_words_as_written_need_a_purpose_that_may_see_the_nik() -> None:
    """A citizen types their NIK into the description or a follow-up, so the words as written
    open only for the purposes that return the NIK, to those who may ask for them; the identity
    follows `REVEALED_TO` alone."""
    assert {p for p in RevealPurpose if "nik" in REVEALED_FIELDS[p]} == TEXT_PURPOSES
    assert {RevealPurpose.FIELD_VERIFICATION, RevealPurpose.LEGAL_PROCESS} == TEXT_PURPOSES
    for purpose in RevealPurpose:
        for revealer in Revealer:
            expected = purpose in TEXT_PURPOSES and revealer in REVEALED_TO[purpose]
            assert may_reveal(purpose, revealer, Revealed.TEXT) is expected, (purpose, revealer)
            assert may_reveal(purpose, revealer, Revealed.IDENTITY) is may_reveal(purpose, revealer)
    # Whoever only contacts the reporter never opens the text, whatever purpose they name.
    for revealer in (Revealer.CONTACT_SERVICE, Revealer.HOLDING_OFFICER):
        assert not may_reveal(None, revealer, Revealed.TEXT)
    for revealer in (Revealer.CHAIN_SUPERVISOR, Revealer.ADMIN):
        assert may_reveal(None, revealer, Revealed.TEXT)
