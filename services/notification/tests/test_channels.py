"""Channels against real local servers: the stand-in WhatsApp API / office webhook (HTTP) and
aiosmtpd (SMTP)."""

from __future__ import annotations

import email
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from aduan.reference.questions import Choice
from aduan_devtools.natsserver import free_port
from aduan_devtools.testing.notification import CANARY, Answer, StandInProvider
from aduan_notification.channels import (
    EmailSender,
    LogSender,
    OfficeWebhookSender,
    OutgoingMessage,
    SendError,
    SmtpConfig,
    WebhookConfig,
    WhatsAppConfig,
    WhatsAppSender,
    retry_after_seconds,
)
from aduan_notification.domain import DeliveryChannel

pytestmark = pytest.mark.integration


def message(channel: DeliveryChannel, **overrides: Any) -> OutgoingMessage:
    values: dict[str, Any] = {
        "delivery_id": "d-1",
        "provider_key": "d-1",
        "channel": channel,
        "template": "case_assigned",
        "template_version": "abc",
        "language": "id",
        "recipient": "rep-1",
        "recipient_masked": "+62812****0001",
        "complaint_id": "c-1",
        "source_event_id": "routing:3",
        "source_event_type": "CaseRouted",
        "address": CANARY.phone,
        "subject": "Pengaduan ADU-1",
        "body": f"Yth. {CANARY.name}, pengaduan ADU-1 ditangani.",
        "variables": {"ticket_number": "ADU-1", "office_name": "Kantah Bandung"},
        "whatsapp_template": "aduan_case_assigned",
        "whatsapp_parameters": ("ticket_number", "office_name"),
    }
    values.update(overrides)
    return OutgoingMessage(**values)


def whatsapp(provider: StandInProvider, timeout: float = 5.0) -> WhatsAppSender:
    return WhatsAppSender(
        WhatsAppConfig(provider.base_url, provider.token, "1234567890"), timeout_seconds=timeout
    )


async def test_whatsapp_sends_a_text_inside_the_service_window(provider: StandInProvider) -> None:
    sender = whatsapp(provider)
    provider_id = await sender.send(message(DeliveryChannel.WHATSAPP))
    await sender.close()
    [request] = provider.requests
    assert request.path == "/1234567890/messages"
    assert request.headers["authorization"] == f"Bearer {provider.token}"
    assert request.key == "d-1"
    assert request.document["to"] == CANARY.phone.lstrip("+")
    assert request.document["type"] == "text"
    assert request.document["biz_opaque_callback_data"] == "d-1"
    assert provider_id == provider.message_ids["d-1"]


async def test_whatsapp_sends_the_approved_template_outside_the_window(
    provider: StandInProvider,
) -> None:
    sender = whatsapp(provider)
    await sender.send(message(DeliveryChannel.WHATSAPP, within_service_window=False))
    await sender.close()
    document = provider.requests[0].document
    assert document["type"] == "template"
    assert document["template"]["name"] == "aduan_case_assigned"
    assert document["template"]["language"] == {"code": "id"}
    parameters = document["template"]["components"][0]["parameters"]
    assert [p["text"] for p in parameters] == ["ADU-1", "Kantah Bandung"]
    assert CANARY.name not in str(document["template"])


@pytest.mark.parametrize(
    ("answer", "retryable", "retry_after"),
    [
        (Answer(500), True, None),
        (Answer(429, {"Retry-After": "7"}), True, 7.0),
        (Answer(503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), True, 0.0),
        (Answer(400), False, None),
        (Answer(401), False, None),
    ],
)
async def test_whatsapp_errors_say_whether_to_retry(
    provider: StandInProvider, answer: Answer, retryable: bool, retry_after: float | None
) -> None:
    provider.failures_per_key = [answer]
    sender = whatsapp(provider)
    with pytest.raises(SendError) as caught:
        await sender.send(message(DeliveryChannel.WHATSAPP))
    await sender.close()
    assert caught.value.retryable is retryable
    assert caught.value.retry_after_seconds == retry_after
    assert caught.value.summary == f"whatsapp HTTP {answer.status}"


async def test_a_whatsapp_timeout_is_retryable_and_the_retry_is_deduplicated(
    provider: StandInProvider,
) -> None:
    provider.failures_per_key = [Answer(200, stall_seconds=1.0)]
    sender = whatsapp(provider, timeout=0.2)
    with pytest.raises(SendError, match="timed out") as caught:
        await sender.send(message(DeliveryChannel.WHATSAPP))
    assert caught.value.retryable
    await sender.send(message(DeliveryChannel.WHATSAPP))
    await sender.close()
    assert provider.sends == 1


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"within_service_window": False},
        {
            "list_rows": (Choice("aduan:ADU-1:p:32", "Jawa Barat"),),
            "list_button": "Pilih provinsi",
            "list_title": "Provinsi",
        },
    ],
    ids=["text", "template", "list"],
)
async def test_every_whatsapp_send_carries_the_delivery_id_for_the_status_webhooks(
    provider: StandInProvider, overrides: dict[str, Any]
) -> None:
    """The status webhooks echo biz_opaque_callback_data: it is what lets a report confirm a
    send left in doubt by a dead sender (notification.md, "Exactly once")."""
    sender = whatsapp(provider)
    await sender.send(message(DeliveryChannel.WHATSAPP, **overrides))
    await sender.close()
    [request] = provider.requests
    assert request.document["biz_opaque_callback_data"] == "d-1"
    assert request.key == "d-1"


async def test_a_send_that_may_have_arrived_is_in_doubt_one_that_could_not_is_not(
    provider: StandInProvider,
) -> None:
    provider.failures_per_key = [Answer(200, stall_seconds=1.0)]
    sender = whatsapp(provider, timeout=0.2)
    with pytest.raises(SendError) as timed_out:
        await sender.send(message(DeliveryChannel.WHATSAPP))
    await sender.close()
    assert timed_out.value.in_doubt
    closed = WhatsAppSender(
        WhatsAppConfig(f"http://127.0.0.1:{free_port()}", "t", "1"), timeout_seconds=1
    )
    with pytest.raises(SendError) as refused:
        await closed.send(message(DeliveryChannel.WHATSAPP))
    await closed.close()
    assert refused.value.retryable
    assert not refused.value.in_doubt
    provider.failures_per_key = [Answer(500)]
    sender = whatsapp(provider)
    with pytest.raises(SendError) as answered:
        await sender.send(message(DeliveryChannel.WHATSAPP, provider_key="d-2"))
    await sender.close()
    assert not answered.value.in_doubt  # the provider said it did not take it


async def test_the_stand_in_deduplicates_on_the_idempotency_key(provider: StandInProvider) -> None:
    sender = whatsapp(provider)
    first = await sender.send(message(DeliveryChannel.WHATSAPP))
    again = await sender.send(message(DeliveryChannel.WHATSAPP))
    await sender.close()
    assert first == again
    assert provider.requests_for("d-1") == 2
    assert provider.sends == 1


async def test_the_office_webhook_is_signed(provider: StandInProvider) -> None:
    sender = OfficeWebhookSender(WebhookConfig(provider.webhook_url, provider.webhook_secret))
    office_message = message(
        DeliveryChannel.OFFICE_WEBHOOK, recipient="KANTAH.32.73", address="", body="Pengaduan baru."
    )
    provider_id = await sender.send(office_message)
    [request] = provider.requests
    assert request.document["office_code"] == "KANTAH.32.73"
    assert request.document["text"] == "Pengaduan baru."
    assert request.headers["x-aduan-signature"].startswith("sha256=")
    assert provider_id == provider.message_ids["d-1"]
    forged = OfficeWebhookSender(WebhookConfig(provider.webhook_url, "wrong secret"))
    with pytest.raises(SendError, match="HTTP 401") as caught:
        await forged.send(message(DeliveryChannel.OFFICE_WEBHOOK, provider_key="d-2"))
    assert not caught.value.retryable
    await sender.close()
    await forged.close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.refuse: str | None = None

    async def handle_RCPT(  # noqa: N802 - aiosmtpd hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


async def test_email_goes_out_over_smtp(smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    sender = EmailSender(SmtpConfig(host="127.0.0.1", port=port, sender="aduan@bpn.test"))
    provider_id = await sender.send(message(DeliveryChannel.EMAIL, address=CANARY.email))
    [mail] = mailbox.messages
    assert mail["To"] == CANARY.email
    assert mail["Subject"] == "Pengaduan ADU-1"
    assert mail["Message-ID"] == provider_id == "<d-1@aduan.notification>"
    assert "ditangani" in mail.get_payload()


@pytest.mark.parametrize(
    ("code", "retryable"), [("550 no such mailbox", False), ("451 try later", True)]
)
async def test_smtp_refusals_keep_the_address_out_of_the_error(
    smtp: tuple[Mailbox, int], code: str, retryable: bool
) -> None:
    mailbox, port = smtp
    mailbox.refuse = code
    sender = EmailSender(SmtpConfig(host="127.0.0.1", port=port))
    with pytest.raises(SendError) as caught:
        await sender.send(message(DeliveryChannel.EMAIL, address=CANARY.email))
    assert caught.value.retryable is retryable
    assert CANARY.email not in caught.value.summary


async def test_an_unreachable_smtp_server_is_retryable() -> None:
    sender = EmailSender(SmtpConfig(host="127.0.0.1", port=free_port()), timeout_seconds=1)
    with pytest.raises(SendError) as caught:
        await sender.send(message(DeliveryChannel.EMAIL, address=CANARY.email))
    assert caught.value.retryable


async def test_the_log_channel_logs_no_address_and_no_body(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    provider_id = await LogSender().send(message(DeliveryChannel.LOG))
    assert provider_id == "log:d-1"
    [record] = caplog.records
    rendered = f"{record.getMessage()} {vars(record)}"
    assert "+62812****0001" in rendered
    assert CANARY.phone not in rendered
    assert CANARY.name not in rendered
    assert repr(message(DeliveryChannel.LOG)).count(CANARY.name) == 0


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
