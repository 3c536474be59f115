"""Citizens' free text (docs/security.md, "Free text: sealed, and a redacted copy"): every text a
reporter writes is stored as its redacted copy, which is all that is published, and as written,
sealed under the reporter's data key, which only an audited reveal opens and erasure shreds."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from e2e.canary import CANARY, find_canary

from aduan.core.context import CommandContext
from aduan.core.errors import InvalidStateError
from aduan.eventstore.store import store_env
from aduan.v1 import common_pb2, intake_pb2
from aduan_intake.application import IntakeApplication
from aduan_intake.contract import BUILDERS
from aduan_intake.domain import FILED_TEXTS, Attachment, CaseStatus, Channel, reporter_id_for
from aduan_intake.filing import FilingRequest
from aduan_intake.inbound import InboundMessage, WhatsAppInbound
from aduan_intake.sealing import open_text, text_aad
from aduan_intake.validation import validate_filing

DESCRIPTION = (
    f"Sertipikat saya belum terbit. NIK saya {CANARY.nik}, nomor HP {CANARY.phone}, "
    f"email {CANARY.email}."
)
REDACTED_DESCRIPTION = (
    "Sertipikat saya belum terbit. NIK saya [NIK], nomor HP [nomor telepon], email [email]."
)
FOLLOW_UP = f"Tolong hubungi saya di {CANARY.phone}."


def stored(app: IntakeApplication, complaint_id: uuid.UUID | str) -> list[tuple[str, Any]]:
    """The complaint's stored events, decoded: (type name, event)."""
    events = []
    for notification in app.read_notifications(0, 100_000):
        if str(notification.originator_id) == str(complaint_id):
            event = app.decode(notification)
            events.append((type(event).__qualname__, event))
    return events


def stored_bytes(app: IntakeApplication, complaint_id: uuid.UUID | str) -> bytes:
    return b"".join(
        n.state
        for n in app.read_notifications(0, 100_000)
        if str(n.originator_id) == str(complaint_id)
    )


def data_key(app: IntakeApplication, complaint_id: uuid.UUID) -> bytes:
    owner = reporter_id_for(complaint_id)
    wrapped = app.tables.get_data_key(owner)
    assert wrapped is not None
    return app.master_key.unwrap(wrapped, owner)


def resolve(app: IntakeApplication, complaint_id: uuid.UUID) -> None:
    app.note_case_status("routing", 1, str(complaint_id), CaseStatus.RESOLVED)


def test_a_filing_stores_the_redacted_copy_and_the_words_sealed(
    stored_app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    filed = stored_app.file_complaint(
        filing(
            subject=f"NIK {CANARY.nik}",
            description=DESCRIPTION,
            attachments=[Attachment(uri="s3://a", caption=f"KTP {CANARY.nik}")],
        ),
        ctx,
    )

    [(kind, event)] = stored(stored_app, filed.complaint_id)
    assert kind == "Complaint.Filed"
    assert event.description == REDACTED_DESCRIPTION
    assert event.subject == "NIK [NIK]"
    assert event.attachments[0]["caption"] == "KTP [NIK]"
    assert event.redacted == ["nik-cued", "phone-mobile", "email"]
    assert set(event.sealed_text) == {"subject", "description", "caption.0"}
    key = data_key(stored_app, filed.complaint_id)
    owner = reporter_id_for(filed.complaint_id)
    aad = text_aad(owner, filed.complaint_id, FILED_TEXTS, "description")
    assert open_text(event.sealed_text["description"], key, aad) == DESCRIPTION
    # The store holds the words only sealed; the published payload holds neither them nor the
    # ciphertext, and names the rules that masked them.
    assert find_canary(stored_bytes(stored_app, filed.complaint_id)) == []
    payload = BUILDERS[type(event)](event)
    assert payload.description == REDACTED_DESCRIPTION
    assert list(payload.redaction_rules) == ["nik-cued", "phone-mobile", "email"]
    assert event.sealed_text["description"].encode() not in payload.SerializeToString()


def test_a_sealed_text_opens_only_in_its_place(
    app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    one = app.file_complaint(filing(idempotency_key="one", description=DESCRIPTION), ctx)
    other = app.file_complaint(filing(idempotency_key="other", description=DESCRIPTION), ctx)
    [(_, event)] = stored(app, one.complaint_id)
    sealed = event.sealed_text["description"]
    key = data_key(app, one.complaint_id)
    owner = reporter_id_for(one.complaint_id)

    with pytest.raises(ValueError, match="does not match"):  # another field
        open_text(sealed, key, text_aad(owner, one.complaint_id, FILED_TEXTS, "subject"))
    with pytest.raises(ValueError, match="does not match"):  # another complaint's place
        open_text(sealed, key, text_aad(owner, other.complaint_id, FILED_TEXTS, "description"))
    with pytest.raises(ValueError, match="does not match"):  # another reporter's key
        open_text(
            sealed,
            data_key(app, other.complaint_id),
            text_aad(owner, one.complaint_id, FILED_TEXTS, "description"),
        )


def test_follow_ups_withdrawal_and_rating_are_sealed_and_revealed_as_written(
    app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    filed = app.file_complaint(filing(description=DESCRIPTION), ctx)
    message = app.add_reporter_message(
        filed.ticket_number,
        idempotency_key="m1",
        channel=Channel.WEB,
        text=FOLLOW_UP,
        attachments=[Attachment(uri="s3://b", caption=f"NIK {CANARY.nik}")],
        ctx=ctx,
    )
    resolve(app, filed.complaint_id)
    app.rate_resolution(filed.ticket_number, 2, "Petugas minta transfer ke rek 1234567890", ctx)

    events = dict(stored(app, filed.complaint_id))
    added = events["Complaint.MessageAdded"]
    assert added.text == "Tolong hubungi saya di [nomor telepon]."
    assert added.redacted == ["phone-mobile", "nik-cued"]
    assert events["Complaint.ResolutionRated"].comment == (
        "Petugas minta transfer ke rek [rekening …7890]"
    )
    assert find_canary(stored_bytes(app, filed.complaint_id)) == []

    revealed = app.reveal_text(filed.ticket_number, "verifikasi lapangan", ctx)

    assert revealed.description == DESCRIPTION
    assert [(m.message_id, m.text, m.captions) for m in revealed.messages] == [
        (message.message_id, FOLLOW_UP, [f"NIK {CANARY.nik}"])
    ]
    assert revealed.rating_comment == "Petugas minta transfer ke rek 1234567890"
    (kind, last) = stored(app, filed.complaint_id)[-1]
    assert kind == "Complaint.TextRevealed"
    assert last.purpose == "verifikasi lapangan"
    assert last.reveal_purpose == "CONTACT_REPORTER"
    assert last.revealed_fields == [
        "description",
        f"message:{message.message_id}",
        f"message:{message.message_id}:caption.0",
        "rating_comment",
    ]
    assert last.meta["actor"]["id"] == ctx.actor.id
    assert revealed.position == app.head_position()


def test_a_withdrawal_reason_is_sealed(
    app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    filed = app.file_complaint(filing(), ctx)
    app.withdraw_complaint(filed.ticket_number, f"Sudah damai, hubungi {CANARY.phone}", ctx)

    (_, withdrawn) = stored(app, filed.complaint_id)[-1]
    assert withdrawn.reason == "Sudah damai, hubungi [nomor telepon]"
    assert app.reveal_text(filed.ticket_number, "x", ctx).withdrawal_reason == (
        f"Sudah damai, hubungi {CANARY.phone}"
    )


def test_anonymous_texts_are_sealed_under_a_key_of_their_own(
    app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    filed = app.file_complaint(
        filing(anonymous=True, reporter_name="", reporter_phone="", description=DESCRIPTION),
        ctx,
    )

    [(_, event)] = stored(app, filed.complaint_id)
    assert event.reporter_id == ""
    assert event.description == REDACTED_DESCRIPTION
    assert app.tables.get_identity(reporter_id_for(filed.complaint_id)) is None
    assert app.reveal_text(filed.ticket_number, "x", ctx).description == DESCRIPTION


def test_empty_texts_are_not_sealed(
    app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    filed = app.file_complaint(filing(), ctx)  # no subject
    resolve(app, filed.complaint_id)
    app.rate_resolution(filed.ticket_number, 5, "", ctx)

    events = dict(stored(app, filed.complaint_id))
    assert set(events["Complaint.Filed"].sealed_text) == {"description"}
    assert events["Complaint.ResolutionRated"].sealed_text == {}
    assert events["Complaint.ResolutionRated"].redacted == []


def test_after_erasure_the_sealed_words_are_gone(
    app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    filed = app.file_complaint(filing(description=DESCRIPTION), ctx)
    [(_, event)] = stored(app, filed.complaint_id)
    key = data_key(app, filed.complaint_id)
    reporter_id = event.reporter_id

    app.erase_reporter(reporter_id, "permintaan pelapor", ctx)

    with pytest.raises(InvalidStateError, match="erased"):
        app.reveal_text(filed.ticket_number, "x", ctx)
    assert app.tables.get_data_key(reporter_id) is None
    # The ciphertext stays in the log; only the destroyed key opened it.
    assert event.sealed_text["description"]
    assert key  # (held here by the test only, as no store holds it any more)
    # A later text of the erased reporter keeps only its redacted copy: no key is made again.
    app.add_reporter_message(
        filed.ticket_number,
        idempotency_key="late",
        channel=Channel.WEB,
        text=FOLLOW_UP,
        attachments=[],
        ctx=ctx,
    )
    (_, late) = stored(app, filed.complaint_id)[-1]
    assert (late.text, late.sealed_text) == ("Tolong hubungi saya di [nomor telepon].", {})
    assert app.tables.get_data_key(reporter_id) is None


# -- the group commit and the WhatsApp path ---------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IntakeApplication]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'intake.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    application = IntakeApplication(env=store_env(url, "intake"))
    yield application
    application.close()


def test_a_group_of_filings_seals_each_under_its_own_key(
    store_app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    assert store_app.vault.joins_transactions
    named = filing(idempotency_key="g-named", description=DESCRIPTION)
    anonymous = filing(
        idempotency_key="g-anon",
        anonymous=True,
        reporter_name="",
        reporter_phone="",
        description=DESCRIPTION,
    )
    answers = store_app.file_group([(validate_filing(f), ctx) for f in (named, anonymous)])

    for answer in answers:
        assert not isinstance(answer, Exception), answer
        assert answer.created
        [(_, event)] = stored(store_app, answer.complaint_id)
        assert event.description == REDACTED_DESCRIPTION
        assert find_canary(stored_bytes(store_app, answer.complaint_id)) == []
        revealed = store_app.reveal_text(str(answer.complaint_id), "x", ctx)
        assert revealed.description == DESCRIPTION


def test_whatsapp_filings_and_follow_ups_are_sealed(
    store_app: IntakeApplication, ctx: CommandContext
) -> None:
    inbound = WhatsAppInbound(store_app)
    sender = CANARY.whatsapp_id
    first = inbound.handle(
        InboundMessage("wamid.ft.1", sender, "text", f"Tanah saya diserobot. NIK {CANARY.nik}")
    )
    follow = inbound.handle(
        InboundMessage("wamid.ft.2", sender, "text", f"Nomor lain saya {CANARY.phone}")
    )
    assert (first.action, follow.action) == ("filed", "follow_up")

    complaint_id = first.complaint_id
    assert find_canary(stored_bytes(store_app, complaint_id)) == []
    texts = [
        getattr(event, "description", None) or getattr(event, "text", "")
        for kind, event in stored(store_app, complaint_id)
        if kind in ("Complaint.Filed", "Complaint.MessageAdded")
    ]
    assert texts == ["Tanah saya diserobot. NIK [NIK]", "Nomor lain saya [nomor telepon]"]
    revealed = store_app.reveal_text(complaint_id, "x", ctx)
    assert revealed.description == f"Tanah saya diserobot. NIK {CANARY.nik}"
    assert [m.text for m in revealed.messages] == [f"Nomor lain saya {CANARY.phone}"]


# -- the RPC ------------------------------------------------------------------------------------


def test_reveal_complaint_text_over_grpc(intake_server: Any) -> None:
    """The words as written may hold the NIK the citizen typed, so they are revealed only for a
    purpose that may see the NIK (docs/security.md, "Free text: sealed, and a redacted copy"):
    to a supervisor of the holding chain or an administrator, never for CONTACT_REPORTER."""
    stub = intake_server.stub
    app: IntakeApplication = intake_server.app
    filed = stub.FileComplaint(
        intake_pb2.FileComplaintRequest(
            idempotency_key="rpc-1",
            channel=common_pb2.CHANNEL_WEB,
            reporter=intake_pb2.Reporter(name="Siti", phone="081298765432"),
            description=DESCRIPTION,
        )
    )

    def request(kind: int) -> intake_pb2.RevealComplaintTextRequest:
        return intake_pb2.RevealComplaintTextRequest(
            complaint_id=filed.ticket_number, purpose="verifikasi lapangan", reveal_purpose=kind
        )

    field_verification = request(common_pb2.REVEAL_PURPOSE_FIELD_VERIFICATION)
    supervisor = intake_server.bearer("supervisor", "KANWIL.32", "supervisor:jabar")
    # Until routing placed the complaint, no office may reveal it.
    with pytest.raises(grpc.RpcError) as refused:
        stub.RevealComplaintText(field_verification, metadata=supervisor)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    app.note_case_status("routing", 1, filed.complaint_id, None, holding_office="KANTAH.32.73")
    head = app.head_position()

    # A contact purpose, or none (a contact reveal), opens no text, whoever asks: the refusal
    # says which purposes would.
    contact_callers = [
        intake_server.notification(),
        intake_server.bearer("officer", "KANTAH.32.73", "officer:bandung"),
        supervisor,
        intake_server.bearer("admin", sub="admin:legal"),
    ]
    for kind in (common_pb2.REVEAL_PURPOSE_CONTACT_REPORTER, common_pb2.REVEAL_PURPOSE_UNSPECIFIED):
        for caller in contact_callers:
            with pytest.raises(grpc.RpcError) as refused:
                stub.RevealComplaintText(request(kind), metadata=caller)
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
            details = refused.value.details() or ""
            assert "may not see the reporter's words as written for CONTACT_REPORTER" in details
            assert "FIELD_VERIFICATION or LEGAL_PROCESS" in details
    # The NIK purposes: not to the officer who handles the case, nor to the notification
    # service, nor to an auditor (outside the policy), nor to a supervisor outside the chain.
    outsiders = [
        intake_server.notification(),
        intake_server.bearer("officer", "KANTAH.32.73", "officer:bandung"),
        intake_server.bearer("auditor", sub="auditor:bpk"),
        intake_server.bearer("supervisor", "KANWIL.33", "supervisor:jateng"),
    ]
    for caller in outsiders:
        with pytest.raises(grpc.RpcError) as refused:
            stub.RevealComplaintText(field_verification, metadata=caller)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert app.head_position() == head  # a refused reveal records nothing

    revealed = stub.RevealComplaintText(field_verification, metadata=supervisor)

    assert revealed.description == DESCRIPTION
    (kind, event) = stored(app, filed.complaint_id)[-1]
    assert kind == "Complaint.TextRevealed"
    assert (event.purpose, event.reveal_purpose) == ("verifikasi lapangan", "FIELD_VERIFICATION")
    assert event.meta["actor"]["id"] == "supervisor:jabar"
    assert revealed.position.position == app.head_position()
    payload = BUILDERS[type(event)](event)
    assert list(payload.revealed_fields) == ["description"]
    assert payload.reveal_purpose == common_pb2.REVEAL_PURPOSE_FIELD_VERIFICATION

    reporter_id = stored(app, filed.complaint_id)[0][1].reporter_id
    stub.EraseReporter(intake_pb2.EraseReporterRequest(reporter_id=reporter_id, reason="hapus"))
    with pytest.raises(grpc.RpcError) as erased:
        stub.RevealComplaintText(field_verification, metadata=supervisor)
    assert erased.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "erased" in (erased.value.details() or "")
    assert json.dumps(erased.value.details()).find(CANARY.nik) == -1
