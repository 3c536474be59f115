"""WhatsApp conversations over the real webhook (aiohttp test server, SQLite store): intake
locates and classifies what the citizen wrote or shared, asks for what it cannot tell, reads the
answers, tells a rating from a follow-up, and gives every message type an outcome."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from cloudapi import (
    OTHER_MESSAGES,
    SENDER,
    CloudApiStandIn,
    image,
    list_reply,
    location,
    message,
    payload,
    status,
    text,
)

from aduan.core.context import CommandContext
from aduan.core.errors import InvalidStateError
from aduan_intake.application import IntakeApplication
from aduan_intake.details import DetailFinder
from aduan_intake.domain import CaseStatus, Complaint
from aduan_intake.inbound import WhatsAppInbound
from aduan_intake.media import LocalMediaStore, MediaKeeper, WhatsAppMediaDownloader
from aduan_intake.pins import RegencyBoundaries
from aduan_intake.statuses import StatusOutcome, StatusReport
from aduan_intake.textrules import TextRules
from aduan_intake.webhook import PATH, WebhookSettings, build_web_app, signature_for

SETTINGS = WebhookSettings(verify_token="verify-me", app_secret="s3cret")
OTHER = "6285712345678"
# Gedung Sate, Kota Bandung.
BANDUNG = (-6.9025, 107.6188)


class RecordingForwarder:
    def __init__(self) -> None:
        self.reports: list[StatusReport] = []
        self.fail = False

    async def forward(self, report: StatusReport) -> StatusOutcome:
        if self.fail:
            raise ConnectionError("notification is down")
        self.reports.append(report)
        return StatusOutcome(report.provider_message_id, "recorded")


@pytest.fixture(scope="module")
def finder() -> DetailFinder:
    return DetailFinder(
        TextRules.load_packaged(), RegencyBoundaries.load_packaged(), timedelta(minutes=30)
    )


@pytest.fixture
def forwarder() -> RecordingForwarder:
    return RecordingForwarder()


@pytest.fixture
async def client(
    sqlite_app: IntakeApplication, finder: DetailFinder, forwarder: RecordingForwarder
) -> AsyncIterator[TestClient[Any, Any]]:
    web_app = build_web_app(WhatsAppInbound(sqlite_app, finder), SETTINGS, forwarder)
    async with TestClient(TestServer(web_app)) as c:
        yield c


async def post(client: TestClient[Any, Any], body: dict[str, Any]) -> tuple[int, Any]:
    raw = json.dumps(body).encode()
    response = await client.post(
        PATH,
        data=raw,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature_for(raw, SETTINGS.app_secret),
        },
    )
    return response.status, await response.json()


async def send(
    client: TestClient[Any, Any], *messages: dict[str, Any], **kw: Any
) -> dict[str, Any]:
    status_code, body = await post(client, payload(*messages, **kw))
    assert status_code == 200, body
    [result] = body["results"]
    return dict(result)


def events(app: IntakeApplication, complaint_id: str) -> list[Any]:
    return [
        app.decode(n)
        for n in app.read_notifications(0, 10_000)
        if str(n.originator_id) == complaint_id
    ]


def last(app: IntakeApplication, complaint_id: str, kind: str) -> Any:
    """The complaint's last stored event of `kind` (Located, Classified, DetailsRequested, ...)."""
    return [e for e in events(app, complaint_id) if type(e).__name__ == kind][-1]


def kinds(app: IntakeApplication, complaint_id: str) -> list[str]:
    return [type(e).__name__ for e in events(app, complaint_id)]


async def test_a_text_naming_a_regency_and_a_service_is_located_and_classified_at_filing(
    client: TestClient[Any, Any], sqlite_app: IntakeApplication
) -> None:
    result = await send(
        client, text("sertipikat tanah saya di Kota Bandung belum selesai sudah 2 tahun")
    )
    assert result["action"] == "filed"
    filed, located_event, classified_event = events(sqlite_app, result["complaint_id"])
    assert type(filed).__name__ == "Filed"
    assert filed.details_pending is True
    assert filed.details_due is not None
    assert (located_event.regency_code, located_event.source) == ("32.73", "TEXT_RULE")
    assert located_event.rule_id
    assert located_event.details_pending is True
    assert (classified_event.category, classified_event.source) == ("LAND_SERVICE", "TEXT_RULE")
    assert classified_event.details_pending is False  # complete: routing places it now


async def test_nothing_known_asks_province_then_regency_then_category(
    client: TestClient[Any, Any], sqlite_app: IntakeApplication
) -> None:
    result = await send(client, text("tolong min urusan tanah saya dipersulit terus"))
    complaint_id, ticket = result["complaint_id"], result["ticket_number"]
    asked = events(sqlite_app, complaint_id)[-1]
    assert type(asked).__name__ == "DetailsRequested"
    assert asked.question == "PROVINCE"

    answer = await send(client, list_reply(f"aduan:{ticket}:p:32", "Jawa Barat"))
    assert (answer["action"], answer["complaint_id"]) == ("answered", complaint_id)
    located_event, asked = events(sqlite_app, complaint_id)[-2:]
    assert (located_event.province_code, located_event.regency_code) == ("32", "")
    assert located_event.source == "REPORTER_ANSWER"
    assert (asked.question, asked.province_code) == ("REGENCY", "32")

    # "Berikutnya" shows the next page of regencies: asked again, nothing learned.
    await send(client, list_reply(f"aduan:{ticket}:more:r:2:32"))
    asked = events(sqlite_app, complaint_id)[-1]
    assert (asked.question, asked.page) == ("REGENCY", 2)

    await send(client, list_reply(f"aduan:{ticket}:r:32.73", "Kota Bandung"))
    located_event, asked = events(sqlite_app, complaint_id)[-2:]
    assert located_event.regency_code == "32.73"
    assert asked.question == "CATEGORY"

    before = len(events(sqlite_app, complaint_id))
    choice = list_reply(f"aduan:{ticket}:c:LAND_DISPUTE", "Sengketa tanah")
    first = await send(client, choice)
    repeat = await send(client, choice)  # the gateway delivers it again: nothing more
    assert first["created"] is True
    assert repeat["created"] is False
    stored = events(sqlite_app, complaint_id)
    assert len(stored) == before + 1
    assert (stored[-1].category, stored[-1].details_pending) == ("LAND_DISPUTE", False)
    complaint: Complaint = sqlite_app.get_complaint(complaint_id)
    assert complaint.question is None
    # Every question names the deadline routing applies: the filing's.
    filed = events(sqlite_app, complaint_id)[0]
    asked_due = {e.answer_due for e in events(sqlite_app, complaint_id) if hasattr(e, "answer_due")}
    assert asked_due == {filed.details_due}


async def test_nobody_answers_for_a_complaint_of_another_number(
    client: TestClient[Any, Any], sqlite_app: IntakeApplication
) -> None:
    result = await send(client, text("tolong min urusan tanah saya dipersulit terus"))
    before = kinds(sqlite_app, result["complaint_id"])
    stranger = await send(
        client,
        list_reply(f"aduan:{result['ticket_number']}:p:31", sender=OTHER),
        sender=OTHER,
    )
    assert stranger["action"] == "ignored"
    assert kinds(sqlite_app, result["complaint_id"]) == before


async def test_an_ambiguous_name_is_asked_among_its_candidates(
    client: TestClient[Any, Any], sqlite_app: IntakeApplication
) -> None:
    result = await send(client, text("pengukuran tanah saya di bandung sudah 6 bulan belum ada"))
    located_event = last(sqlite_app, result["complaint_id"], "Located")
    asked = last(sqlite_app, result["complaint_id"], "DetailsRequested")
    assert (located_event.province_code, located_event.regency_code) == ("32", "")
    assert asked.question == "REGENCY"
    assert sorted(asked.candidates) == ["32.04", "32.73"]


async def test_a_location_pin_locates_the_complaint(
    client: TestClient[Any, Any], sqlite_app: IntakeApplication
) -> None:
    result = await send(client, location(*BANDUNG))
    assert result["action"] == "filed"
    located_event, asked = events(sqlite_app, result["complaint_id"])[-2:]
    assert (located_event.regency_code, located_event.source) == ("32.73", "LOCATION_PIN")
    assert asked.question == "CATEGORY"


async def test_a_pin_after_filing_locates_an_unlocated_complaint(
    client: TestClient[Any, Any], sqlite_app: IntakeApplication
) -> None:
    result = await send(client, text("ada pungli waktu urus balik nama, diminta 5 juta"))
    assert kinds(sqlite_app, result["complaint_id"])[-1] == "DetailsRequested"
    pinned = await send(client, location(*BANDUNG))
    assert (pinned["action"], pinned["complaint_id"]) == ("answered", result["complaint_id"])
    assert events(sqlite_app, result["complaint_id"])[-1].regency_code == "32.73"


async def test_a_rating_after_resolution_rates_and_a_follow_up_does_not(
    client: TestClient[Any, Any], sqlite_app: IntakeApplication
) -> None:
    result = await send(client, text("sertipikat saya di kota makassar belum jadi juga"))
    complaint_id = result["complaint_id"]
    sqlite_app.note_case_status("routing", 1, complaint_id, CaseStatus.RESOLVED)

    rated = await send(client, text("5"))
    assert (rated["action"], rated["complaint_id"]) == ("rated", complaint_id)
    assert kinds(sqlite_app, complaint_id)[-1] == "ResolutionRated"
    assert "MessageAdded" not in kinds(sqlite_app, complaint_id)

    follow = await send(client, text("tapi sertipikatnya salah nama, mohon diperbaiki"))
    assert (follow["action"], follow["complaint_id"]) == ("follow_up", complaint_id)
    assert kinds(sqlite_app, complaint_id)[-1] == "MessageAdded"


async def test_baru_starts_a_new_complaint_while_one_is_open(
    client: TestClient[Any, Any], sqlite_app: IntakeApplication
) -> None:
    first = await send(client, text("sertipikat saya di kota makassar belum jadi juga"))
    second = await send(client, text("BARU ada calo di kantah kab gowa minta uang"))
    assert second["action"] == "filed"
    assert second["complaint_id"] != first["complaint_id"]
    filed = events(sqlite_app, second["complaint_id"])[0]
    assert not filed.description.upper().startswith("BARU")


def conversation_replies(app: IntakeApplication) -> list[Any]:
    return [
        e
        for e in map(app.decode, app.read_notifications(0, 10_000))
        if type(e).__qualname__ in ("Conversation.Started", "Conversation.ReplyRequested")
    ]


async def test_status_alone_lists_the_senders_open_complaints(
    client: TestClient[Any, Any], sqlite_app: IntakeApplication
) -> None:
    first = await send(client, text("sertipikat saya di kota makassar belum jadi juga"))
    second = await send(client, text("BARU ada calo di kantah kab gowa minta uang"))
    answered = await send(client, text("status"))
    assert (answered["action"], answered["detail"]) == ("replied", "STATUS_OVERVIEW")
    [overview] = conversation_replies(sqlite_app)
    assert overview.reply["complaint_ids"] == [second["complaint_id"], first["complaint_id"]]
    lonely = await send(client, text("CEK", sender=OTHER), sender=OTHER)
    assert (lonely["action"], lonely["detail"]) == ("replied", "STATUS_OVERVIEW")
    assert conversation_replies(sqlite_app)[-1].reply["complaint_ids"] == []


async def test_an_unknown_ticket_gets_an_answer(
    client: TestClient[Any, Any], sqlite_app: IntakeApplication
) -> None:
    answered = await send(client, text("STATUS ADU-2026-ZZZZZZ"))
    assert (answered["action"], answered["detail"]) == ("replied", "UNKNOWN_TICKET")
    assert conversation_replies(sqlite_app)[-1].reply["ticket_number"] == "ADU-2026-ZZZZZZ"


@pytest.mark.parametrize(
    "greeting", ["halo min", "P", "Assalamualaikum wr wb", "selamat pagi kak 🙏"]
)
async def test_a_greeting_alone_is_welcomed_not_filed(
    client: TestClient[Any, Any], sqlite_app: IntakeApplication, greeting: str
) -> None:
    welcomed = await send(client, text(greeting))
    assert (welcomed["action"], welcomed["detail"]) == ("replied", "WELCOME")
    assert welcomed["complaint_id"] == ""
    assert [
        type(e).__name__ for e in map(sqlite_app.decode, sqlite_app.read_notifications(0, 99))
    ] == ["Started"]
    # Once the citizen says what is wrong, it is a complaint.
    filed = await send(client, text("halo min, sertipikat saya di kota bandung belum jadi"))
    assert filed["action"] == "filed"


async def test_the_sender_of_a_conversation_can_be_answered_and_erased(
    client: TestClient[Any, Any], sqlite_app: IntakeApplication, ctx: CommandContext
) -> None:
    await send(client, text("halo min"))
    [started] = conversation_replies(sqlite_app)
    conversation_id = str(started.originator_id)
    revealed = sqlite_app.reveal_contact(conversation_id, "notification:ConversationReply", ctx)
    assert revealed.identity.phone == "+" + SENDER
    assert started.masked_contact.startswith("+6281")
    sqlite_app.erase_reporter(revealed.reporter_id, "permintaan pelapor", ctx)
    with pytest.raises(InvalidStateError):
        sqlite_app.reveal_contact(conversation_id, "notification:ConversationReply", ctx)
    again = await send(client, text("halo kak"))
    assert again["created"] is False  # no contact left to answer


@pytest.mark.parametrize("kind", sorted(OTHER_MESSAGES))
async def test_every_other_message_type_gets_an_outcome(
    client: TestClient[Any, Any], sqlite_app: IntakeApplication, kind: str
) -> None:
    before = sqlite_app.head_position()
    result = await send(client, message(kind, OTHER_MESSAGES[kind]))
    assert result["detail"], f"{kind} has an outcome without a reason"
    if kind in ("unsupported", "request_welcome"):
        assert result["action"] == "replied"  # help text / welcome
    elif kind == "button":
        assert result["action"] == "replied"  # its payload is STATUS
    else:
        assert result["action"] == "ignored"
        assert sqlite_app.head_position() == before


async def test_statuses_are_forwarded_to_notification(
    client: TestClient[Any, Any], forwarder: RecordingForwarder
) -> None:
    code, body = await post(
        client,
        payload(
            statuses=[
                status("wamid.OUT1", "delivered", "delivery-1"),
                status("wamid.OUT2", "failed"),
            ]
        ),
    )
    assert code == 200
    assert [s["action"] for s in body["statuses"]] == ["recorded", "recorded"]
    delivered, failed = forwarder.reports
    assert (delivered.delivery_id, delivered.status) == ("delivery-1", "delivered")
    assert (failed.provider_message_id, failed.status) == ("wamid.OUT2", "failed")
    assert failed.error.startswith("131026")
    forwarder.fail = True
    code, _ = await post(client, payload(statuses=[status("wamid.OUT3", "read", "delivery-1")]))
    assert code == 500  # the gateway delivers the status again later


@pytest.fixture
def cloud_api() -> Iterator[CloudApiStandIn]:
    stand_in = CloudApiStandIn().start()
    yield stand_in
    stand_in.stop()


async def test_media_are_kept_verified_and_erased_with_the_reporter(
    sqlite_app: IntakeApplication,
    finder: DetailFinder,
    cloud_api: CloudApiStandIn,
    tmp_path: Path,
    ctx: CommandContext,
) -> None:
    store = LocalMediaStore(tmp_path / "media")
    sqlite_app.media = store
    downloader = WhatsAppMediaDownloader(cloud_api.token, base_url=cloud_api.base_url)
    keeper = MediaKeeper(store, downloader)
    photo, scan = b"\xff\xd8 a photo of the boundary stone", b"%PDF the certificate scan"
    cloud_api.add_media("MEDIA-PHOTO", photo)
    cloud_api.add_media("MEDIA-SCAN", scan, "application/pdf")
    web_app = build_web_app(WhatsAppInbound(sqlite_app, finder), SETTINGS, None, keeper)
    async with TestClient(TestServer(web_app)) as client:
        filed = await send(
            client, image("patok tanah saya digeser tetangga", photo, media_id="MEDIA-PHOTO")
        )
        follow = await send(client, image("scan sertipikat", scan, media_id="MEDIA-SCAN"))
        tampered = await send(
            client, image("foto lain", b"not what was served", media_id="MEDIA-PHOTO")
        )
    await keeper.aclose()
    assert follow["complaint_id"] == filed["complaint_id"]
    complaint = sqlite_app.get_complaint(filed["complaint_id"])
    stored_events = events(sqlite_app, filed["complaint_id"])
    kept = [a for e in stored_events for a in getattr(e, "attachments", [])]
    assert [a["uri"].split(":")[0] for a in kept] == ["media", "media", "whatsapp-media"]
    assert store.get(kept[0]["uri"]) == photo
    assert store.get(kept[1]["uri"]) == scan
    assert kept[1]["sha256"] == hashlib.sha256(scan).hexdigest()
    assert tampered["action"] == "follow_up"  # kept as a reference, its bytes refused

    sqlite_app.erase_reporter(complaint.reporter_id, "permintaan pelapor", ctx)
    assert not store.exists(kept[0]["uri"])
    assert not store.exists(kept[1]["uri"])
    assert not (tmp_path / "media" / complaint.reporter_id).exists()
