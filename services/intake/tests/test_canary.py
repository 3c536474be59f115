"""The canary, within intake: a reporter with distinctive personal data files through gRPC and
the webhook, follows up, has the contact revealed; then the plaintext must be absent from every
envelope the outbox relay published to a real nats-server, from every log record intake wrote,
and from intake's SQLite files (which hold the identity as ciphertext only).

The cross-service half (routing, notification and query stores) is tests/e2e/test_intake_canary.py.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import nats
import pytest
from aiohttp.test_utils import TestClient, TestServer
from e2e.canary import CANARY, find_canary

from aduan.core.context import CommandContext
from aduan.core.logs import JsonFormatter
from aduan.messaging.jetstream import STREAM_NAME, JetStreamPublisher, ensure_stream
from aduan.messaging.outbox import OutboxRelay
from aduan.v1 import common_pb2, events_pb2, intake_pb2
from aduan_devtools.natsserver import EmbeddedNats
from aduan_intake.contract import translator
from aduan_intake.inbound import WhatsAppInbound
from aduan_intake.reveals import RevealPurpose
from aduan_intake.webhook import PATH, WebhookSettings, build_web_app, signature_for

pytestmark = pytest.mark.integration


# The canary's NIK and phone number typed into free text, as citizens do: only the redacted copy
# may leave the sealed store (docs/security.md, "Free text: sealed, and a redacted copy").
CANARY_DESCRIPTION = (
    f"Sertipikat hak milik saya belum terbit setelah dua tahun. NIK saya {CANARY.nik}, "
    f"hubungi {CANARY.phone}."
)
CANARY_FOLLOW_UP = f"Mohon kabari ke nomor {CANARY.phone}; KTP {CANARY.nik} sudah saya kirim."
CANARY_WHATSAPP = f"Tanah saya diserobot orang. NIK {CANARY.nik}, WA {CANARY.phone}."


def store_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))


async def file_canary_complaints(intake_server: Any) -> str:
    """Files the canary's complaints every way intake takes them; returns one complaint id."""
    stub = intake_server.stub
    filed = stub.FileComplaint(
        intake_pb2.FileComplaintRequest(
            idempotency_key="canary-web",
            channel=common_pb2.CHANNEL_WEB,
            reporter=intake_pb2.Reporter(
                name=CANARY.name, phone=CANARY.phone, email=CANARY.email, nik=CANARY.nik
            ),
            location=common_pb2.Location(province_code="32", regency_code="32.73"),
            description=CANARY_DESCRIPTION,
        )
    )
    stub.FileComplaint(  # email only, on another channel
        intake_pb2.FileComplaintRequest(
            idempotency_key="canary-email",
            channel=common_pb2.CHANNEL_EMAIL,
            reporter=intake_pb2.Reporter(name=CANARY.name, email=CANARY.email, nik=CANARY.nik),
            description="Permohonan informasi tentang pengukuran ulang bidang tanah.",
        )
    )
    stub.GetReporterContact(
        intake_pb2.GetReporterContactRequest(complaint_id=filed.complaint_id, purpose="test"),
        metadata=intake_server.notification(),
    )
    stub.AddReporterMessage(
        intake_pb2.AddReporterMessageRequest(
            complaint_id=filed.complaint_id,
            idempotency_key="canary-follow-up",
            channel=common_pb2.CHANNEL_WEB,
            text=CANARY_FOLLOW_UP,
        )
    )
    settings = WebhookSettings(app_secret="canary-secret")
    web_app = build_web_app(WhatsAppInbound(intake_server.app), settings)
    async with TestClient(TestServer(web_app)) as client:
        bodies = [CANARY_WHATSAPP, f"CEK {filed.ticket_number}"]
        for index, body in enumerate(bodies):
            raw = json.dumps(
                {
                    "entry": [
                        {
                            "changes": [
                                {
                                    "value": {
                                        "contacts": [
                                            {
                                                "profile": {"name": CANARY.name},
                                                "wa_id": CANARY.whatsapp_id,
                                            }
                                        ],
                                        "messages": [
                                            {
                                                "from": CANARY.whatsapp_id,
                                                "id": f"wamid.canary.{index}",
                                                "type": "text",
                                                "text": {"body": body},
                                            }
                                        ],
                                    }
                                }
                            ]
                        }
                    ]
                }
            ).encode()
            response = await client.post(
                PATH,
                data=raw,
                headers={"X-Hub-Signature-256": signature_for(raw, settings.app_secret)},
            )
            assert response.status == 200
        # A forged delivery carrying the canary is rejected, and its body is not logged.
        response = await client.post(PATH, data=raw, headers={"X-Hub-Signature-256": "sha256=00"})
        assert response.status == 401
    return str(filed.complaint_id)


async def test_the_canary_never_leaves_intake_in_plaintext(
    intake_server: Any,
    sqlite_path: Path,
    nats_server: EmbeddedNats,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    complaint_id = await file_canary_complaints(intake_server)
    app = intake_server.app
    # Filed twice, revealed, a follow-up, and the WhatsApp text threads onto the web complaint
    # (same phone).
    assert app.head_position() == 6

    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        relay = OutboxRelay(app, translator(), JetStreamPublisher(js))
        while await relay.relay_once():
            pass
        info = await js.stream_info(STREAM_NAME)
        assert info.state.messages == app.head_position()
        types = []
        for sequence in range(1, info.state.last_seq + 1):
            message = await js.get_msg(STREAM_NAME, sequence)
            envelope = events_pb2.Envelope.FromString(message.data)
            types.append(envelope.event_type)
            assert find_canary(message.data) == [], envelope.event_type
            assert find_canary(json.dumps(message.headers or {}).encode()) == []
            if envelope.event_type == "ComplaintFiled" and envelope.complaint_filed.masked_contact:
                assert envelope.complaint_filed.masked_contact in {
                    "+62813****766",
                    "z***@example.id",
                }
    finally:
        await nc.close()
    assert {
        "ComplaintFiled",
        "ContactRevealed",
        "ReporterMessageAdded",
        "StatusRequested",
    } <= set(types)

    formatter = JsonFormatter("intake")
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    assert any("signature" in record.getMessage() for record in caplog.records)
    assert find_canary(logged.encode()) == []

    raw = store_bytes(sqlite_path)
    assert find_canary(raw) == []
    # The identity is there, sealed: it can still be revealed (until erased).
    revealed = app.reveal_contact(
        complaint_id, "check", CommandContext.from_meta({}), RevealPurpose.LEGAL_PROCESS
    )
    assert revealed.identity.nik == CANARY.nik
    # So are the words as written, to a reveal of its own.
    text = app.reveal_text(complaint_id, "check", CommandContext.from_meta({}))
    assert text.description == CANARY_DESCRIPTION
    assert [m.text for m in text.messages] == [CANARY_FOLLOW_UP, CANARY_WHATSAPP]
