"""Channels: how a rendered message leaves the building. Adapters (HTTP, SMTP, logging).

Every sender takes an `OutgoingMessage` and returns the provider's message id, or raises
`SendError` saying whether a retry can help and when (Retry-After). Error texts are built here
from status codes only, never from provider responses, so that no address or body can reach the
store or the logs through an error message.
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Protocol

import aiosmtplib
import httpx

from aduan.reference.questions import Choice
from aduan.service.httpheaders import retry_after_seconds
from aduan_notification.domain import DeliveryChannel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingMessage:
    delivery_id: str
    # Sent to the provider so that a repeated send of this delivery is recognised.
    provider_key: str
    channel: DeliveryChannel
    template: str
    template_version: str
    language: str
    # Reporter id or office code, and its masked form: safe to log.
    recipient: str
    recipient_masked: str
    complaint_id: str
    source_event_id: str
    source_event_type: str
    # Phone number (E.164) or email address for reporters; empty for offices and the log.
    address: str = field(default="", repr=False)
    subject: str = field(default="", repr=False)
    body: str = field(default="", repr=False)
    # Variables stored with the delivery (never the contact), e.g. for the webhook's JSON.
    variables: dict[str, str] = field(default_factory=dict, repr=False)
    # Outside WhatsApp's 24-hour window only an approved template may be sent.
    within_service_window: bool = True
    whatsapp_template: str = ""
    whatsapp_parameters: tuple[str, ...] = field(default=(), repr=False)
    # Their values as WhatsApp accepts them (MessageTemplate.whatsapp_parameter_values: one
    # line, never empty); without them, the variables named by whatsapp_parameters.
    whatsapp_parameter_values: tuple[str, ...] = field(default=(), repr=False)
    # A question: sent as a WhatsApp interactive list of these rows (aduan.reference.questions.choices),
    # with the body as its text, under a button and a section title.
    list_rows: tuple[Choice, ...] = field(default=(), repr=False)
    list_button: str = field(default="", repr=False)
    list_title: str = field(default="", repr=False)


# WhatsApp Cloud API limits of interactive list messages (rows: see aduan.reference.questions).
LIST_BODY_MAX = 1024
LIST_BUTTON_MAX = 20
LIST_SECTION_TITLE_MAX = 24
LIST_ROWS_MAX = 10


def _fit(text: str, limit: int) -> str:
    """`text` within `limit` characters (an over-long part would be refused as a whole)."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def interactive_list(message: OutgoingMessage) -> dict[str, Any]:
    """The `interactive` object of a WhatsApp list message (one section)."""
    section: dict[str, Any] = {
        "rows": [
            {
                "id": row.id,
                "title": row.title,
                **({"description": row.description} if row.description else {}),
            }
            for row in message.list_rows[:LIST_ROWS_MAX]
        ]
    }
    if message.list_title.strip():
        section = {"title": _fit(message.list_title, LIST_SECTION_TITLE_MAX), **section}
    return {
        "type": "list",
        "body": {"text": _fit(message.body, LIST_BODY_MAX)},
        "action": {"button": _fit(message.list_button, LIST_BUTTON_MAX), "sections": [section]},
    }


class SendError(Exception):
    def __init__(
        self,
        summary: str,
        *,
        retryable: bool,
        retry_after_seconds: float | None = None,
        in_doubt: bool = False,
    ) -> None:
        super().__init__(summary)
        self.summary = summary
        self.retryable = retryable
        self.retry_after_seconds = retry_after_seconds
        # The request may have reached the provider (a time-out or a connection lost after it
        # was sent): the message may be on its way although no answer came.
        self.in_doubt = in_doubt


class Sender(Protocol):
    async def send(self, message: OutgoingMessage) -> str:
        """Send; return the provider's message id or raise SendError."""

    async def close(self) -> None: ...


def _http_error(response: httpx.Response, what: str) -> SendError:
    status = response.status_code
    retryable = status in (408, 409, 425, 429) or status >= 500
    return SendError(
        f"{what} HTTP {status}",
        retryable=retryable,
        retry_after_seconds=retry_after_seconds(response.headers.get("Retry-After")),
    )


async def _post(client: httpx.AsyncClient, url: str, what: str, **kwargs: Any) -> httpx.Response:
    try:
        response = await client.post(url, **kwargs)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
        # No connection, so no request: the provider has nothing.
        raise SendError(f"{what} unreachable ({type(error).__name__})", retryable=True) from None
    except httpx.TimeoutException:
        # The request may have arrived: the retry carries the same idempotency key.
        raise SendError(f"{what} timed out", retryable=True, in_doubt=True) from None
    except httpx.TransportError as error:
        raise SendError(
            f"{what} unreachable ({type(error).__name__})", retryable=True, in_doubt=True
        ) from None
    if response.status_code >= 300:
        raise _http_error(response, what)
    return response


@dataclass(frozen=True)
class WhatsAppConfig:
    base_url: str
    token: str = field(repr=False)
    phone_number_id: str


class WhatsAppSender:
    """WhatsApp Cloud API-compatible: POST {base}/{phone number id}/messages with a bearer token.

    Inside the 24-hour customer-service window a text message, or an interactive list for a
    question; outside it the approved template `aduan_<template>` with the declared parameters
    (a question is never sent outside the window: the sender skips it). The delivery id travels
    as the `Idempotency-Key` header and as `biz_opaque_callback_data` (echoed in status
    webhooks, which intake forwards to RecordProviderStatus)."""

    def __init__(self, config: WhatsAppConfig, timeout_seconds: float = 10.0) -> None:
        self.config = config
        self.client = httpx.AsyncClient(
            timeout=timeout_seconds,
            headers={"Authorization": f"Bearer {config.token}"},
        )

    @property
    def url(self) -> str:
        return f"{self.config.base_url.rstrip('/')}/{self.config.phone_number_id}/messages"

    def payload(self, message: OutgoingMessage) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": message.address.lstrip("+"),
            "biz_opaque_callback_data": message.provider_key,
        }
        if message.list_rows:
            payload["type"] = "interactive"
            payload["interactive"] = interactive_list(message)
        elif message.within_service_window:
            payload["type"] = "text"
            payload["text"] = {"preview_url": False, "body": message.body}
        else:
            payload["type"] = "template"
            payload["template"] = {
                "name": message.whatsapp_template,
                "language": {"code": message.language},
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": value}
                            for value in message.whatsapp_parameter_values
                            or [
                                message.variables.get(name, "")[:1024]
                                for name in message.whatsapp_parameters
                            ]
                        ],
                    }
                ],
            }
        return payload

    async def send(self, message: OutgoingMessage) -> str:
        response = await _post(
            self.client,
            self.url,
            "whatsapp",
            json=self.payload(message),
            headers={"Idempotency-Key": message.provider_key},
        )
        try:
            return str(response.json()["messages"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise SendError("whatsapp answered without a message id", retryable=True) from None

    async def close(self) -> None:
        await self.client.aclose()


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    username: str = ""
    password: str = field(default="", repr=False)
    sender: str = "ATR/BPN Pengaduan <pengaduan@localhost>"
    # None: STARTTLS when the server offers it.
    start_tls: bool | None = None
    use_tls: bool = False


class EmailSender:
    """SMTP. The Message-ID is derived from the delivery, so a repeated send is recognisable by
    the receiving side (SMTP itself has no idempotency)."""

    def __init__(self, config: SmtpConfig, timeout_seconds: float = 10.0) -> None:
        self.config = config
        self.timeout_seconds = timeout_seconds

    def build(self, message: OutgoingMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.config.sender
        mail["To"] = message.address
        mail["Subject"] = message.subject
        mail["Message-ID"] = f"<{message.provider_key}@aduan.notification>"
        mail["Date"] = email.utils.formatdate(localtime=False)
        mail["Content-Language"] = message.language
        mail["X-Aduan-Delivery"] = message.provider_key
        mail.set_content(message.body)
        return mail

    async def send(self, message: OutgoingMessage) -> str:
        mail = self.build(message)
        try:
            await aiosmtplib.send(
                mail,
                hostname=self.config.host,
                port=self.config.port,
                username=self.config.username or None,
                password=self.config.password or None,
                start_tls=self.config.start_tls,
                use_tls=self.config.use_tls,
                timeout=self.timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refused.code for refused in error.recipients]
            retryable = any(400 <= code < 500 for code in codes)
            raise SendError(f"smtp recipient refused {codes}", retryable=retryable) from None
        except aiosmtplib.SMTPResponseException as error:
            # 4xx: try again later; 5xx: the server will not take it.
            raise SendError(f"smtp {error.code}", retryable=400 <= error.code < 500) from None
        except aiosmtplib.SMTPTimeoutError:
            raise SendError("smtp timed out", retryable=True) from None
        except (aiosmtplib.SMTPException, OSError) as error:
            raise SendError(f"smtp failed ({type(error).__name__})", retryable=True) from None
        return str(mail["Message-ID"])

    async def close(self) -> None:
        return None


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    secret: str = field(repr=False)


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>", hex: `X-Aduan-Signature: sha256=<hex>`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


class OfficeWebhookSender:
    """POSTs one JSON document per office notification, signed with the shared secret."""

    def __init__(self, config: WebhookConfig, timeout_seconds: float = 10.0) -> None:
        self.config = config
        self.client = httpx.AsyncClient(timeout=timeout_seconds)

    def document(self, message: OutgoingMessage) -> dict[str, Any]:
        return {
            "delivery_id": message.delivery_id,
            "office_code": message.recipient,
            "complaint_id": message.complaint_id,
            "ticket_number": message.variables.get("ticket_number", ""),
            "event_type": message.source_event_type,
            "source_event_id": message.source_event_id,
            "template": message.template,
            "template_version": message.template_version,
            "language": message.language,
            "text": message.body,
            "variables": message.variables,
        }

    async def send(self, message: OutgoingMessage) -> str:
        body = json.dumps(self.document(message), ensure_ascii=False, sort_keys=True).encode()
        stamp = str(int(time.time()))
        response = await _post(
            self.client,
            self.config.url,
            "office webhook",
            content=body,
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": message.provider_key,
                "X-Aduan-Timestamp": stamp,
                "X-Aduan-Signature": webhook_signature(self.config.secret, stamp, body),
            },
        )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict) and answer.get("id"):
            return str(answer["id"])
        return f"webhook:{message.provider_key}"

    async def close(self) -> None:
        await self.client.aclose()


class LogSender:
    """The channel of `make up`: says that a message would go out. Logs the masked recipient and
    the template, never an address or a body."""

    async def send(self, message: OutgoingMessage) -> str:
        extra: dict[str, Any] = {
            "delivery_id": message.delivery_id,
            "recipient": message.recipient_masked,
            "template": message.template,
            "template_version": message.template_version,
            "language": message.language,
        }
        if message.list_rows:
            # A question list: how many rows it offers (their ids name the ticket, no one).
            extra["list_rows"] = len(message.list_rows)
        log.info("notification delivered to the log channel", extra=extra)
        return f"log:{message.provider_key}"

    async def close(self) -> None:
        return None
