"""The WhatsApp inbound webhook over real HTTP (aiohttp test server, SQLite store)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from e2e.canary import CANARY, find_canary

from aduan.core.context import CommandContext
from aduan_intake.application import IntakeApplication
from aduan_intake.domain import Attachment, CaseStatus, Channel
from aduan_intake.inbound import DECISIONS, WhatsAppInbound
from aduan_intake.webhook import PATH, WebhookSettings, build_web_app, signature_for

SETTINGS = WebhookSettings(verify_token="verify-me", app_secret="s3cret")
SENDER = "6281234567890"
OTHER_SENDER = "6285712345678"


@pytest.fixture
async def client(sqlite_app: IntakeApplication) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(build_web_app(WhatsAppInbound(sqlite_app), SETTINGS))) as c:
        yield c


def payload(
    *messages: dict[str, Any], sender: str = SENDER, name: str = "Siti Aminah"
) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA-1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "6281110680000",
                                "phone_number_id": "1",
                            },
                            "contacts": [{"profile": {"name": name}, "wa_id": sender}],
                            "messages": list(messages),
                        },
                    }
                ],
            }
        ],
    }


def text(body: str, sender: str = SENDER, message_id: str | None = None) -> dict[str, Any]:
    return {
        "from": sender,
        "id": message_id or f"wamid.{uuid.uuid4().hex}",
        "timestamp": "1767225600",
        "type": "text",
        "text": {"body": body},
    }


def image(caption: str = "", sender: str = SENDER, message_id: str | None = None) -> dict[str, Any]:
    digest = base64.b64encode(hashlib.sha256(b"jpeg bytes").digest()).decode()
    return {
        "from": sender,
        "id": message_id or f"wamid.{uuid.uuid4().hex}",
        "timestamp": "1767225600",
        "type": "image",
        "image": {
            "id": "MEDIA-42",
            "mime_type": "image/jpeg",
            "sha256": digest,
            "caption": caption,
        },
    }


async def post(
    client: TestClient[Any, Any], body: dict[str, Any] | bytes, signature: str | None = None
) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    headers["X-Hub-Signature-256"] = (
        signature if signature is not None else signature_for(raw, SETTINGS.app_secret)
    )
    response = await client.post(PATH, data=raw, headers=headers)
    content = (
        await response.json()
        if response.content_type == "application/json"
        else await response.text()
    )
    return response.status, content


async def deliver(
    client: TestClient[Any, Any], *messages: dict[str, Any], **kwargs: Any
) -> list[dict[str, Any]]:
    status, body = await post(client, payload(*messages, **kwargs))
    assert status == 200, body
    return list(body["results"])


async def test_verification_challenge(client: TestClient[Any, Any]) -> None:
    ok = await client.get(
        PATH,
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": "verify-me",
            "hub.challenge": "1158201444",
        },
    )
    assert ok.status == 200
    assert await ok.text() == "1158201444"
    wrong = await client.get(
        PATH, params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"}
    )
    assert wrong.status == 403


@pytest.mark.parametrize(
    "signature", ["", "sha256=" + "0" * 64, "sha1=abc", signature_for(b"other", "s3cret")]
)
async def test_a_bad_signature_is_rejected_and_nothing_stored(
    client: TestClient[Any, Any], sqlite_app: IntakeApplication, signature: str
) -> None:
    status, _ = await post(client, payload(text("Tolong sertipikat saya")), signature=signature)
    assert status == 401
    assert sqlite_app.head_position() == 0
    assert sqlite_app.claims.get("whatsapp-message", "anything") is None


async def test_malformed_json_is_a_bad_request(
    client: TestClient[Any, Any], sqlite_app: IntakeApplication
) -> None:
    assert (await post(client, b"{not json"))[0] == 400
    assert (await post(client, b"[1, 2]"))[0] == 400
    assert (await post(client, {"entry": [{"changes": [{"value": {"messages": [{"id": "x"}]}}]}]}))[
        0
    ] == 400
    assert sqlite_app.head_position() == 0


async def test_a_text_from_a_new_number_files_a_complaint(
    client: TestClient[Any, Any], sqlite_app: IntakeApplication
) -> None:
    message = text("Sertipikat tanah saya sudah dua tahun belum terbit.", sender=CANARY.whatsapp_id)
    [result] = await deliver(client, message, sender=CANARY.whatsapp_id, name=CANARY.name)
    assert result["action"] == "filed"
    assert result["created"] is True
    complaint = sqlite_app.get_complaint(result["ticket_number"])
    assert complaint.channel == Channel.WHATSAPP
    assert complaint.idempotency_key == message["id"]
    assert complaint.category == "UNCLASSIFIED"
    assert complaint.masked_contact == "+62813****766"
    revealed = sqlite_app.reveal_contact(
        result["complaint_id"], "test", CommandContext.from_meta({})
    )
    assert (revealed.identity.phone, revealed.identity.name) == (CANARY.phone_e164, CANARY.name)


async def test_media_messages_carry_attachment_references(
    client: TestClient[Any, Any],
    sqlite_app: IntakeApplication,
    event_types: Callable[..., list[str]],
) -> None:
    [filed] = await deliver(client, image())  # a bare photo still files a complaint
    complaint = sqlite_app.get_complaint(filed["complaint_id"])
    assert complaint.description == "[WhatsApp: image]"
    assert complaint.attachments == (
        Attachment(
            uri="whatsapp-media:MEDIA-42",
            media_type="image/jpeg",
            sha256=hashlib.sha256(b"jpeg bytes").hexdigest(),
            caption="",
        ),
    )
    [follow_up] = await deliver(client, image(caption="Patok batas digeser tetangga"))
    assert follow_up["action"] == "follow_up"
    assert follow_up["complaint_id"] == filed["complaint_id"]
    assert event_types(sqlite_app) == ["Complaint.Filed", "Complaint.MessageAdded"]


async def test_follow_ups_thread_onto_the_newest_open_complaint(
    client: TestClient[Any, Any], sqlite_app: IntakeApplication
) -> None:
    [first] = await deliver(client, text("Pengukuran tanah saya tertunda tiga bulan."))
    [second] = await deliver(client, text("Ini nomor berkasnya 123/2025"))
    [other] = await deliver(
        client,
        text("Saya mau lapor pungutan liar di loket.", sender=OTHER_SENDER),
        sender=OTHER_SENDER,
    )
    assert second["action"] == "follow_up"
    assert second["complaint_id"] == first["complaint_id"]
    assert other["action"] == "filed"
    assert other["complaint_id"] != first["complaint_id"]

    # Withdrawn complaints take no follow-ups: the next message files a new complaint...
    sqlite_app.withdraw_complaint(first["complaint_id"], "", CommandContext.from_meta({}))
    [after_withdrawal] = await deliver(client, text("Masalah baru: batas tanah digeser."))
    assert after_withdrawal["action"] == "filed"
    # ...which is now the newest open complaint of that number.
    [threaded] = await deliver(client, text("Foto menyusul."))
    assert threaded["complaint_id"] == after_withdrawal["complaint_id"]

    # An open complaint stays the thread however old it is (no age limit to pass).
    assert sqlite_app.open_complaint_for_phone("+" + SENDER) is not None


async def test_status_command_records_a_status_request(
    client: TestClient[Any, Any],
    sqlite_app: IntakeApplication,
    event_types: Callable[..., list[str]],
) -> None:
    [filed] = await deliver(client, text("Sertipikat saya hilang, mohon dibantu."))
    ticket = filed["ticket_number"]
    [status] = await deliver(client, text(f"STATUS {ticket}"))
    [cek] = await deliver(
        client, text(f"cek {ticket.lower()}", sender=OTHER_SENDER), sender=OTHER_SENDER
    )
    [unknown] = await deliver(client, text("CEK ADU-2020-ZZZZZZ"))
    assert status["action"] == cek["action"] == "status_requested"
    assert status["ticket_number"] == cek["ticket_number"] == ticket
    # An unknown ticket gets an answer (on the sender's conversation), not silence.
    assert (unknown["action"], unknown["detail"]) == ("replied", "UNKNOWN_TICKET")
    assert event_types(sqlite_app) == [
        "Complaint.Filed",
        "Complaint.StatusRequested",
        "Complaint.StatusRequested",
        "Conversation.Started",
    ]


async def test_a_repeated_message_id_changes_nothing(
    client: TestClient[Any, Any], sqlite_app: IntakeApplication
) -> None:
    message = text("Mohon informasi pengurusan balik nama sertipikat.")
    [first] = await deliver(client, message)
    # Repeated later, after another message from the same number made the complaint "open":
    await deliver(client, text("Tambahan: atas nama almarhum ayah saya."))
    head = sqlite_app.head_position()
    [again] = await deliver(client, message)
    assert again["action"] == "filed"
    assert again["created"] is False
    assert again["complaint_id"] == first["complaint_id"]
    assert sqlite_app.head_position() == head


async def test_fifty_concurrent_deliveries_of_one_message_have_one_effect(
    client: TestClient[Any, Any],
    sqlite_app: IntakeApplication,
    event_types: Callable[..., list[str]],
) -> None:
    new = text("Tanah saya diserobot, mohon ditindaklanjuti.")
    results = await asyncio.gather(*(deliver(client, new) for _ in range(50)))
    assert len({r[0]["complaint_id"] for r in results}) == 1
    assert sum(r[0]["created"] for r in results) == 1

    follow_up = text("Ini lokasi persisnya di Desa Sukamaju.")
    results = await asyncio.gather(*(deliver(client, follow_up) for _ in range(50)))
    assert {r[0]["action"] for r in results} == {"follow_up"}
    assert sum(r[0]["created"] for r in results) == 1
    assert event_types(sqlite_app) == ["Complaint.Filed", "Complaint.MessageAdded"]


async def test_status_updates_and_reactions_store_nothing(
    client: TestClient[Any, Any], sqlite_app: IntakeApplication
) -> None:
    receipt = payload()
    receipt["entry"][0]["changes"][0]["value"]["statuses"] = [{"id": "wamid.x", "status": "read"}]
    del receipt["entry"][0]["changes"][0]["value"]["messages"]
    reaction = {"from": SENDER, "id": "wamid.r", "type": "reaction", "reaction": {"emoji": "👍"}}
    assert await deliver(client) == []
    status, body = await post(client, receipt)
    # Statuses go to notification (test_whatsapp_details.py); without it none is forwarded.
    assert (status, body["results"], body["statuses"]) == (200, [], [])
    [outcome] = await deliver(client, reaction)
    assert outcome["action"] == "ignored"
    assert "reaction" in outcome["detail"]
    assert sqlite_app.head_position() == 0


# What a decision record may say (`WhatsAppInbound._decide`): an action, and ids, tickets, reply
# ids, ratings or a message type. Never the sender's number or name, never their words.
_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_TICKET = r"ADU-\d{4}-[A-Z0-9]{6}"
DECISION = re.compile(
    rf"^(?:file|follow:{_ID}|pin:{_ID}|rate:{_ID}:[1-5]|status:{_TICKET}"
    rf"|answer:aduan:{_TICKET}:[a-z]:[A-Z0-9_.]+"
    rf"|reply:(?:WELCOME|STATUS_OVERVIEW|UNKNOWN_TICKET:{_TICKET}|UNSUPPORTED_MESSAGE:[a-z_]+))$"
)


async def test_decision_records_hold_no_personal_data(
    client: TestClient[Any, Any], sqlite_app: IntakeApplication
) -> None:
    """The record claimed under each message id (what the message meant) outlives the message
    and is not erased with the reporter, so it names no number, name, NIK or text: the canary
    sender types their NIK and phone into every kind of message (docs/security.md, the
    personal-data inventory)."""
    sender = CANARY.whatsapp_id
    typed = f"NIK saya {CANARY.nik}, hubungi {CANARY.phone}"

    def said(words: str) -> dict[str, Any]:
        return text(words, sender=sender)

    def raw(kind: str, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "from": sender,
            "id": f"wamid.{uuid.uuid4().hex}",
            "timestamp": "1767225600",
            "type": kind,
            kind: body,
        }

    async def send(message: dict[str, Any]) -> dict[str, Any]:
        [result] = await deliver(client, message, sender=sender, name=CANARY.name)
        return result

    filing = said(f"Tanah saya diserobot. {typed}.")
    ticket = (await send(filing))["ticket_number"]
    sent = [
        filing,
        said(f"Tambahan: {typed}, atas nama {CANARY.name}."),  # a follow-up
        image(caption=f"KTP saya, {typed}", sender=sender),  # a captioned follow-up
        said(f"STATUS {ticket}"),
        said("CEK ADU-2020-ZZZZZZ"),
        said("STATUS"),  # the overview
        said("Halo"),
        raw("vcard", {"phone": CANARY.phone, "name": CANARY.name}),  # a type intake cannot take
        raw(
            "interactive",
            {"type": "list_reply", "list_reply": {"id": f"aduan:{ticket}:p:32", "title": typed}},
        ),
        raw("location", {"latitude": -6.9, "longitude": 107.6, "address": typed}),
    ]
    for message in sent[1:]:
        await send(message)
    complaint_id = str(sqlite_app.get_complaint(ticket).id)
    sqlite_app.note_case_status("routing", 1, complaint_id, CaseStatus.RESOLVED)
    rating = said("5")
    assert (await send(rating))["action"] == "rated"

    decisions = [sqlite_app.claims.get(DECISIONS, message["id"]) for message in [*sent, rating]]
    for decision in decisions:
        assert decision is not None
        assert DECISION.match(decision), decision
        assert find_canary(decision.encode()) == [], decision
    actions = {
        d.split(":")[0] if not d.startswith("reply:") else d.split(":")[1] for d in decisions
    }
    assert actions == {
        "file",
        "follow",
        "status",  # an unknown ticket too: the reply is decided when it is carried out
        "STATUS_OVERVIEW",
        "WELCOME",
        "UNSUPPORTED_MESSAGE",
        "answer",
        "pin",
        "rate",
    }
