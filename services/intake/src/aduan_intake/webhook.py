"""HTTP adapter: the WhatsApp inbound webhook (Cloud API format), served in the intake process on
its own port (ADUAN_WEBHOOK_PORT, default 8081) as a worker of the ServiceRuntime.

- GET  /webhook/whatsapp  the verification challenge (hub.mode, hub.verify_token, hub.challenge)
- POST /webhook/whatsapp  messages, signed with X-Hub-Signature-256 (HMAC-SHA256 of the raw body
                          with the app secret): 401 on a missing or bad signature (nothing is
                          stored), 400 on malformed JSON, 200 with one result per message,
                          500 when the store failed (the gateway retries; retries are harmless).
                          A message that can never be stored (an id unusable as an idempotency
                          key, an attachment over its limits) is answered "ignored" with the
                          reason, storing nothing, so that the gateway does not retry it forever.
- GET  /healthz           liveness of the webhook listener

No access log: the challenge's query string carries the verify token.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from aiohttp import web

from aduan.core.errors import ValidationError
from aduan_intake.domain import Attachment
from aduan_intake.inbound import (
    WHATSAPP_MEDIA,
    AttachmentKeeper,
    InboundMessage,
    InboundOutcome,
    PayloadError,
    WhatsAppInbound,
    parse_payload,
)
from aduan_intake.media import (
    MediaIntegrityError,
    MediaKeeper,
    MediaTooLargeError,
    MediaUnavailableError,
)
from aduan_intake.statuses import StatusOutcome, StatusReport, parse_statuses
from aduan_intake.validation import (
    MAX_MESSAGE_TEXT,
    Violations,
    check_attachments,
    check_key,
)

log = logging.getLogger(__name__)

PATH = "/webhook/whatsapp"
MAX_BODY_BYTES = 1024 * 1024
DEV_VERIFY_TOKEN = "aduan-dev-verify-token"
DEV_APP_SECRET = "aduan-dev-app-secret"


@dataclass(frozen=True)
class WebhookSettings:
    host: str = "127.0.0.1"
    port: int = 8081
    verify_token: str = DEV_VERIFY_TOKEN
    app_secret: str = DEV_APP_SECRET

    @classmethod
    def from_extra(cls, extra: Mapping[str, str], default_host: str) -> WebhookSettings:
        """From ADUAN_WEBHOOK_HOST, ADUAN_WEBHOOK_PORT, ADUAN_WHATSAPP_VERIFY_TOKEN and
        ADUAN_WHATSAPP_APP_SECRET (`settings.extra`); development defaults with a warning."""
        port_text = extra.get("WEBHOOK_PORT", "8081").strip()
        try:
            port = int(port_text)
        except ValueError:
            raise ValueError(f"ADUAN_WEBHOOK_PORT must be an integer, not {port_text!r}") from None
        verify_token = extra.get("WHATSAPP_VERIFY_TOKEN", "")
        app_secret = extra.get("WHATSAPP_APP_SECRET", "")
        if not verify_token or not app_secret:
            log.warning(
                "ADUAN_WHATSAPP_VERIFY_TOKEN or ADUAN_WHATSAPP_APP_SECRET is not set: the WhatsApp "
                "webhook uses the published DEVELOPMENT values; set both in any real deployment"
            )
        return cls(
            host=extra.get("WEBHOOK_HOST", default_host) or default_host,
            port=port,
            verify_token=verify_token or DEV_VERIFY_TOKEN,
            app_secret=app_secret or DEV_APP_SECRET,
        )


def signature_for(body: bytes, app_secret: str) -> str:
    """The X-Hub-Signature-256 value for `body` (also used by tests and the gateway simulator)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison of a caller's text; as bytes, because compare_digest refuses
    non-ASCII strings (a header or query may carry anything)."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def signature_valid(body: bytes, header: str, app_secret: str) -> bool:
    return bool(header) and _same(header.strip(), signature_for(body, app_secret))


def _clean(text: str) -> str:
    """Text as the store can keep it: control characters (but line breaks and tabs) become
    spaces, lone surrogates (only JSON escapes make them; they cannot be encoded) U+FFFD."""
    if text.isprintable():
        return text
    kept = []
    for c in text:
        category = unicodedata.category(c)
        if category == "Cs":
            kept.append("\ufffd")
        elif category == "Cc" and c not in "\n\r\t":
            kept.append(" ")
        else:
            kept.append(c)
    return "".join(kept)


def storable(message: InboundMessage) -> InboundMessage | InboundOutcome:
    """The message as intake can store it, or why it never can be (then nothing is stored)."""
    violations = Violations()
    if _clean(message.message_id) != message.message_id:
        violations.add("id", "must not contain control characters")
    else:
        check_key(violations, message.message_id, "id")
    attachments = tuple(_storable_attachment(a) for a in message.attachments)
    check_attachments(violations, attachments)
    if violations.items:
        detail = "; ".join(f"{v.field}: {v.description}" for v in violations.items)
        return InboundOutcome(message.message_id, "ignored", detail=f"not storable: {detail}")
    return replace(
        message,
        # A hotline message is kept, not refused for its length: the longest text intake keeps.
        text=_clean(message.text)[:MAX_MESSAGE_TEXT].strip(),
        profile_name=_clean(message.profile_name),
        attachments=attachments,
    )


def _storable_attachment(attachment: Attachment) -> Attachment:
    """Every field as the store can keep it (`_clean`); validation trims them later."""
    return Attachment(
        uri=_clean(attachment.uri),
        media_type=_clean(attachment.media_type),
        sha256=_clean(attachment.sha256),
        caption=_clean(attachment.caption),
    )


class StatusForwarder(Protocol):
    async def forward(self, report: StatusReport) -> StatusOutcome: ...


def attachment_keeper(
    keeper: MediaKeeper, loop: asyncio.AbstractEventLoop, timeout_seconds: float = 120.0
) -> AttachmentKeeper:
    """Keeps WhatsApp media through `keeper` on `loop` (the webhook's) for a handler running in a
    worker thread. Media the Cloud API no longer has, or whose bytes do not match their hash,
    stay referenced by their WhatsApp id (nothing unverified is stored); a transient failure
    raises, so that the webhook answers 500 and the gateway delivers the message again."""

    def keep(reporter_id: str, attachment: Attachment) -> Attachment:
        if not attachment.uri.startswith(WHATSAPP_MEDIA) or not keeper.can_download:
            return attachment
        media_id = attachment.uri.removeprefix(WHATSAPP_MEDIA)
        coroutine = keeper.keep(reporter_id, media_id, attachment.sha256, attachment.media_type)
        try:
            stored = asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout_seconds)
        except (MediaUnavailableError, MediaIntegrityError, MediaTooLargeError) as error:
            log.warning(
                "WhatsApp media not kept", extra={"media_id": media_id, "reason": repr(error)}
            )
            return attachment
        return replace(attachment, uri=stored.uri, sha256=stored.sha256)

    return keep


def build_web_app(
    inbound: WhatsAppInbound,
    settings: WebhookSettings,
    statuses: StatusForwarder | None = None,
    media: MediaKeeper | None = None,
) -> web.Application:
    async def verify(request: web.Request) -> web.Response:
        mode = request.query.get("hub.mode", "")
        token = request.query.get("hub.verify_token", "")
        challenge = request.query.get("hub.challenge", "")
        if mode == "subscribe" and _same(token, settings.verify_token) and challenge:
            return web.Response(text=challenge)
        return web.Response(status=403, text="verification failed")

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        if not signature_valid(
            body, request.headers.get("X-Hub-Signature-256", ""), settings.app_secret
        ):
            log.warning("WhatsApp webhook call with a missing or bad signature rejected")
            return web.json_response({"error": "invalid signature"}, status=401)
        try:
            payload = json.loads(body)
            messages = parse_payload(payload)
            reports = parse_statuses(payload)
        except PayloadError as error:
            return web.json_response({"error": str(error)}, status=400)
        except (ValueError, RecursionError):
            # Not UTF-8, not JSON, a number over Python's digit limit, nesting over the
            # recursion limit: all malformed.
            return web.json_response({"error": "malformed JSON"}, status=400)
        results = []
        for received in messages:
            message = storable(received)
            if isinstance(message, InboundOutcome):
                log.warning(
                    "inbound WhatsApp message cannot be stored; ignored",
                    extra={"detail": message.detail},
                )
                results.append(message.as_dict())
                continue
            keep = attachment_keeper(media, asyncio.get_running_loop()) if media else None
            try:
                outcome = await asyncio.to_thread(inbound.handle, message, keep)
            except ValidationError as error:
                # Retrying cannot help: the gateway gets a 200 with the reason.
                log.warning(
                    "inbound WhatsApp message refused",
                    extra={"fields": [v.field for v in error.violations]},
                )
                outcome = InboundOutcome(message.message_id, "ignored", detail=str(error))
            except Exception:
                log.exception(
                    "inbound WhatsApp message failed; the gateway will retry",
                    extra={"message_id": message.message_id},
                )
                return web.json_response({"error": "temporarily unavailable"}, status=500)
            results.append(outcome.as_dict())
        forwarded = []
        for report in reports:
            if statuses is None:
                log.info("WhatsApp status not forwarded: no notification service configured")
                continue
            try:
                forwarded.append((await statuses.forward(report)).as_dict())
            except Exception:
                log.exception("WhatsApp status could not be forwarded; the gateway will retry")
                return web.json_response({"error": "temporarily unavailable"}, status=500)
        return web.json_response({"results": results, "statuses": forwarded})

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_get(PATH, verify)
    app.router.add_post(PATH, receive)
    app.router.add_get("/healthz", healthz)
    return app


class WebhookServer:
    """A Worker of the ServiceRuntime. If the port is taken it logs and keeps retrying instead of
    taking the gRPC service down with it."""

    def __init__(
        self,
        inbound: WhatsAppInbound,
        settings: WebhookSettings,
        retry_seconds: float = 5.0,
        statuses: StatusForwarder | None = None,
        media: MediaKeeper | None = None,
    ) -> None:
        self.settings = settings
        self.web_app = build_web_app(inbound, settings, statuses, media)
        self.retry_seconds = retry_seconds
        self.bound_port = 0
        self._stopping = asyncio.Event()
        self._listening = asyncio.Event()

    async def run(self) -> None:
        runner = web.AppRunner(self.web_app, access_log=None)
        await runner.setup()
        try:
            while not self._stopping.is_set():
                site = web.TCPSite(runner, self.settings.host, self.settings.port)
                try:
                    await site.start()
                except OSError as error:
                    log.error(
                        "cannot listen for the WhatsApp webhook; retrying",
                        extra={"port": self.settings.port, "error": repr(error)},
                    )
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), self.retry_seconds)
                    continue
                addresses = runner.addresses  # the bound port, also when 0 was asked for
                self.bound_port = int(addresses[0][1]) if addresses else self.settings.port
                self._listening.set()
                log.info(
                    "WhatsApp webhook listening",
                    extra={"address": f"{self.settings.host}:{self.bound_port}", "path": PATH},
                )
                await self._stopping.wait()
        finally:
            await runner.cleanup()

    async def listening(self) -> int:
        await self._listening.wait()
        return self.bound_port

    def stop(self) -> None:
        self._stopping.set()
