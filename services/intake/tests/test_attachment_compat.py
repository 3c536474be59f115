"""Complaint.Filed and Complaint.MessageAdded events stored before attachments were typed still
load, into `Attachment`s, and publish the same payloads; new ones store the same mappings, whether
they come through the application, the gRPC servicer or the WhatsApp webhook."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import StoredEvent

from aduan.core.context import Actor, ActorKind, CommandContext
from aduan.reference.categories import Category
from aduan.v1 import common_pb2, events_pb2, intake_pb2
from aduan_intake.application import IntakeApplication
from aduan_intake.contract import BUILDERS, attachment_messages
from aduan_intake.domain import (
    Attachment,
    Channel,
    Location,
    attachment_fields,
    attachments_from_fields,
)
from aduan_intake.filing import FilingRequest
from aduan_intake.inbound import InboundMessage, InboundOutcome
from aduan_intake.webhook import storable

COMPLAINT_ID = uuid.UUID("cdd123b4-5966-5d8c-b39a-2b88374d0836")
HASH = "ab" * 32
META: dict[str, Any] = {
    "actor": {"id": "gateway:test", "kind": "GATEWAY", "role": "gateway", "office": ""},
    "correlation_id": "c",
    "causation_id": "c",
    "traceparent": "",
    "tracestate": "",
}
# A filing and a follow-up message with attachments as intake stored them before this change
# (the bodies under the chain header), and their payloads as published then (deterministic
# serialisation).
OLD_FILED: dict[str, Any] = {
    "timestamp": {"_type_": "datetime_iso", "_data_": "2026-12-05T06:40:33.818185+00:00"},
    "originator_topic": "aduan_intake.domain:Complaint",
    "channel": "WEB",
    "idempotency_key": "k2",
    "ticket_number": "ADU-2026-P6UJW9",
    "reporter_id": "92a0ac4c-a889-5542-a234-ff182e2d99a2",
    "masked_contact": "+62812****432",
    "anonymous": False,
    "confidential": False,
    "language": "id",
    "category": "LAND_DISPUTE",
    "location": {"province_code": "32", "regency_code": "32.73", "address": ""},
    "parcel": {"nib": "", "certificate_number": ""},
    "subject": "",
    "description": "Patok batas tanah saya digeser tetangga.",
    "attachments": [
        {
            "uri": f"media:local/r/{HASH}",
            "media_type": "image/jpeg",
            "sha256": HASH,
            "caption": "patok",
        },
        {
            "uri": "whatsapp-media:77",
            "media_type": "application/pdf",
            "sha256": "",
            "caption": "scan.pdf",
        },
    ],
    "meta": META,
    "details_pending": False,
    "details_due": None,
}
OLD_FILED_PAYLOAD = bytes.fromhex(
    "0a0f4144552d323032362d5036554a573910021a2439326130616334632d613838392d353534322d61323334"
    "2d666631383265326439396132220d2b36323831322a2a2a2a3433323802420b0a023332120533322e37334a"
    "005a285061746f6b2062617461732074616e61682073617961206469676573657220746574616e6767612e62"
    "a5010a4e6d656469613a6c6f63616c2f722f6162616261626162616261626162616261626162616261626162"
    "6162616261626162616261626162616261626162616261626162616261626162616261626162120a696d6167"
    "652f6a7065671a40616261626162616261626162616261626162616261626162616261626162616261626162"
    "6162616261626162616261626162616261626162616261626162616222057061746f6b622e0a117768617473"
    "6170702d6d656469613a3737120f6170706c69636174696f6e2f70646622087363616e2e7064666a026964"
)
OLD_MESSAGE: dict[str, Any] = {
    "timestamp": {"_type_": "datetime_iso", "_data_": "2026-12-05T06:40:33.818717+00:00"},
    "message_id": "9b9af353-39fd-59f0-b9d3-c5cd03492c87",
    "idempotency_key": "m1",
    "channel": "WHATSAPP",
    "text": "foto lagi",
    "attachments": [
        {
            "uri": "whatsapp-media:78",
            "media_type": "image/png",
            "sha256": "",
            "caption": "sisi utara",
        }
    ],
    "meta": META,
}
OLD_MESSAGE_PAYLOAD = bytes.fromhex(
    "0a2439623961663335332d333966642d353966302d623964332d63356364303334393263383710011a09666f"
    "746f206c616769222a0a1177686174736170702d6d656469613a37381209696d6167652f706e67220a736973"
    "69207574617261"
)
# The two typed values the old events hold.
OLD_FILED_ATTACHMENTS = (
    Attachment(uri=f"media:local/r/{HASH}", media_type="image/jpeg", sha256=HASH, caption="patok"),
    Attachment(uri="whatsapp-media:77", media_type="application/pdf", caption="scan.pdf"),
)
# As a caller handed them over: unnormalised, some fields left out.
RAW_FILED_ATTACHMENTS = [
    Attachment(
        uri=f" media:local/r/{HASH} ",
        media_type="Image/JPEG",
        sha256=HASH.upper(),
        caption=" patok ",
    ),
    Attachment(uri="whatsapp-media:77", media_type="application/pdf", caption="scan.pdf"),
]
RAW_MESSAGE_ATTACHMENTS = [
    Attachment(uri="whatsapp-media:78", media_type="image/png", caption="sisi utara")
]


def _stored(fields: dict[str, Any]) -> bytes:
    """As eventsourcing's JSON transcoder writes it."""
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()


def _body(state: bytes) -> dict[str, Any]:
    """A stored event's fields, without the chain header before them."""
    body: dict[str, Any] = json.loads(state[state.index(b'{"timestamp"') :])
    return body


def _timeless(fields: dict[str, Any]) -> str:
    """The stored fields, in their stored order, without the timestamp and ticket number."""
    kept = {k: v for k, v in fields.items() if k not in ("timestamp", "ticket_number")}
    return json.dumps(kept, separators=(",", ":"), ensure_ascii=False)


def _context() -> CommandContext:
    """The actor and ids the old events were recorded with."""
    return CommandContext(
        actor=Actor("gateway:test", ActorKind.GATEWAY, role="gateway"),
        correlation_id="c",
        causation_id="c",
    )


def _store_old_events(app: IntakeApplication) -> None:
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=COMPLAINT_ID,
                originator_version=1,
                topic="aduan_intake.domain:Complaint.Filed",
                state=_stored(OLD_FILED),
            ),
            StoredEvent(
                originator_id=COMPLAINT_ID,
                originator_version=2,
                topic="aduan_intake.domain:Complaint.MessageAdded",
                state=_stored(OLD_MESSAGE),
            ),
        ]
    )


def test_an_attachment_is_stored_as_the_mapping_events_have_always_carried() -> None:
    attachment = Attachment(uri="u", media_type="image/png", sha256=HASH, caption="c")

    assert list(attachment.fields().items()) == [
        ("uri", "u"),
        ("media_type", "image/png"),
        ("sha256", HASH),
        ("caption", "c"),
    ]
    assert Attachment.from_fields(attachment.fields()) == attachment
    assert Attachment.from_fields({"uri": "u"}) == Attachment(uri="u")
    assert attachment_fields([attachment, Attachment()]) == [
        attachment.fields(),
        {"uri": "", "media_type": "", "sha256": "", "caption": ""},
    ]
    assert attachments_from_fields(OLD_FILED["attachments"]) == OLD_FILED_ATTACHMENTS


def test_attachments_publish_every_field() -> None:
    [message] = attachment_messages([OLD_FILED_ATTACHMENTS[0]])

    assert message == common_pb2.Attachment(
        uri=f"media:local/r/{HASH}", media_type="image/jpeg", sha256=HASH, caption="patok"
    )


def test_old_events_load_with_typed_attachments(stored_app: IntakeApplication) -> None:
    _store_old_events(stored_app)

    complaint = stored_app.get_complaint(str(COMPLAINT_ID))

    assert complaint.attachments == OLD_FILED_ATTACHMENTS
    assert complaint.messages == {"m1": OLD_MESSAGE["message_id"]}


def test_old_events_publish_the_same_payloads(stored_app: IntakeApplication) -> None:
    _store_old_events(stored_app)
    filed, message = (stored_app.decode(n) for n in stored_app.read_notifications(0, 2))

    assert BUILDERS[type(filed)](filed).SerializeToString(deterministic=True) == OLD_FILED_PAYLOAD
    assert (
        BUILDERS[type(message)](message).SerializeToString(deterministic=True)
        == OLD_MESSAGE_PAYLOAD
    )


def test_a_new_filing_and_message_store_what_old_ones_stored(
    stored_app: IntakeApplication, unsealed: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    ctx = _context()
    filed = stored_app.file_complaint(
        FilingRequest(
            idempotency_key="k2",
            channel=Channel.WEB,
            description="Patok batas tanah saya digeser tetangga.",
            category=Category.LAND_DISPUTE,
            location=Location(regency_code="32.73"),
            attachments=RAW_FILED_ATTACHMENTS,
            reporter_name="Siti",
            reporter_phone="081298765432",
        ),
        ctx,
    )
    stored_app.add_reporter_message(
        str(filed.complaint_id),
        idempotency_key="m1",
        channel=Channel.WHATSAPP,
        text=" foto lagi ",
        attachments=RAW_MESSAGE_ATTACHMENTS,
        ctx=ctx,
    )
    notifications = stored_app.read_notifications(0, 2)
    events = [stored_app.decode(n) for n in notifications]
    payloads = [BUILDERS[type(e)](e) for e in events]
    old_filed_payload = events_pb2.ComplaintFiled.FromString(OLD_FILED_PAYLOAD)
    payloads[0].ticket_number = old_filed_payload.ticket_number = ""

    # The same complaint as the old one: only the moment and the ticket's year can differ.
    assert filed.complaint_id == COMPLAINT_ID
    assert _timeless(unsealed(_body(notifications[0].state))) == _timeless(OLD_FILED)
    assert _timeless(unsealed(_body(notifications[1].state))) == _timeless(OLD_MESSAGE)
    assert payloads[0].SerializeToString(deterministic=True) == (
        old_filed_payload.SerializeToString(deterministic=True)
    )
    assert payloads[1].SerializeToString(deterministic=True) == OLD_MESSAGE_PAYLOAD
    assert stored_app.get_complaint(str(COMPLAINT_ID)).attachments == OLD_FILED_ATTACHMENTS


def test_the_servicer_stores_attachments_as_before(intake_server: Any) -> None:
    stub = intake_server.stub
    filed = stub.FileComplaint(
        intake_pb2.FileComplaintRequest(
            idempotency_key="k2",
            channel=common_pb2.CHANNEL_WEB,
            reporter=intake_pb2.Reporter(name="Siti", phone="081298765432"),
            location=common_pb2.Location(regency_code="32.73"),
            description="Patok batas tanah saya digeser tetangga.",
            attachments=[
                common_pb2.Attachment(
                    uri=a.uri, media_type=a.media_type, sha256=a.sha256, caption=a.caption
                )
                for a in RAW_FILED_ATTACHMENTS
            ],
        )
    )
    stub.AddReporterMessage(
        intake_pb2.AddReporterMessageRequest(
            complaint_id=filed.complaint_id,
            idempotency_key="m1",
            channel=common_pb2.CHANNEL_WHATSAPP,
            text="foto lagi",
            attachments=[
                common_pb2.Attachment(uri=a.uri, media_type=a.media_type, caption=a.caption)
                for a in RAW_MESSAGE_ATTACHMENTS
            ],
        )
    )
    app: IntakeApplication = intake_server.app
    bodies = [_body(n.state) for n in app.read_notifications(0, 2)]

    assert [b["attachments"] for b in bodies] == [
        OLD_FILED["attachments"],
        OLD_MESSAGE["attachments"],
    ]


def test_the_webhook_cleans_attachment_fields_as_before() -> None:
    message = InboundMessage(
        "wamid.1",
        "6281298765432",
        "image",
        attachments=(
            Attachment(uri="whatsapp-media:1", media_type="image/jpeg", caption="a\x00b\ud800"),
        ),
    )
    too_long = InboundMessage(
        "wamid.2", "6281298765432", "image", attachments=(Attachment(uri="x" * 2001),)
    )

    cleaned = storable(message)
    refused = storable(too_long)

    assert isinstance(cleaned, InboundMessage)
    assert cleaned.attachments == (
        Attachment(uri="whatsapp-media:1", media_type="image/jpeg", caption="a b\ufffd"),
    )
    assert refused == InboundOutcome(
        "wamid.2",
        "ignored",
        detail="not storable: attachments[0].uri: "
        "a reference without spaces, at most 2000 characters",
    )


def test_old_events_reveal_the_words_they_stored(stored_app: IntakeApplication) -> None:
    """Events stored before free text was sealed hold the words as written in their fields and
    no sealed copy: they load, and a text reveal returns what they hold."""
    _store_old_events(stored_app)

    revealed = stored_app.reveal_text(str(COMPLAINT_ID), "old complaint", _context())

    assert revealed.description == OLD_FILED["description"]
    assert revealed.captions == ["patok", "scan.pdf"]
    assert [(m.message_id, m.text, m.captions) for m in revealed.messages] == [
        (OLD_MESSAGE["message_id"], "foto lagi", ["sisi utara"])
    ]
