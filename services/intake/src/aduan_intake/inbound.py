"""Inbound WhatsApp messages (Cloud API webhook payloads, as the omnichannel gateway forwards
them): parsing, and turning each message into exactly one effect. Transport-free: the HTTP
adapter (webhook.py) verifies the signature and hands over the decoded JSON.

One message, one effect, even when the gateway delivers it many times at once: the decision
(file a new complaint, add a follow-up to complaint X, or record a status request for ticket T)
is claimed under the message id first, and every delivery then carries out the *claimed*
decision with operations that are idempotent on the message id.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import threading
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any

from aduan.context import Actor, ActorKind, CommandContext
from aduan.errors import InvalidStateError, NotFoundError, ValidationError
from aduan_intake.application import FilingRequest, IntakeApplication
from aduan_intake.domain import Category, Channel
from aduan_intake.validation import MAX_DESCRIPTION, MAX_NAME, MIN_DESCRIPTION, normalise_phone

log = logging.getLogger(__name__)

DECISIONS = "whatsapp-message"
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
STATUS_COMMAND = re.compile(r"^\s*(?:STATUS|CEK)\s+(ADU-\d{4}-[A-Z0-9]{6})\s*$", re.IGNORECASE)
GATEWAY_ACTOR = Actor(id="gateway:whatsapp", kind=ActorKind.GATEWAY, role="gateway")


class PayloadError(ValueError):
    """The payload is not a WhatsApp webhook payload (HTTP 400)."""


@dataclass(frozen=True)
class InboundMessage:
    message_id: str
    sender: str  # the WhatsApp id (digits of the phone number): personal data, never logged
    kind: str
    text: str = ""
    profile_name: str = ""  # personal data, never logged
    attachments: list[dict[str, str]] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"InboundMessage(id={self.message_id!r}, kind={self.kind!r}, <redacted>)"


@dataclass(frozen=True)
class InboundOutcome:
    message_id: str
    action: str  # filed | follow_up | status_requested | ignored
    complaint_id: str = ""
    ticket_number: str = ""
    created: bool = False
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "action": self.action,
            "complaint_id": self.complaint_id,
            "ticket_number": self.ticket_number,
            "created": self.created,
            "detail": self.detail,
        }


def _sha256_hex(value: Any) -> str:
    """WhatsApp sends media hashes base64-encoded; the contract wants hex (empty if unusable)."""
    if not isinstance(value, str) or not value:
        return ""
    if re.fullmatch(r"[0-9a-fA-F]{64}", value):
        return value.lower()
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return ""
    return raw.hex() if len(raw) == 32 else ""


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(f"{where} must be an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"{where} must be an array")
    return value


def parse_payload(payload: Any) -> list[InboundMessage]:
    """The messages of a webhook payload (`entry[].changes[].value.messages[]`). Message types
    other than text and media, and status notifications, are skipped."""
    body = _object(payload, "payload")
    messages: list[InboundMessage] = []
    for e, entry in enumerate(_list(body.get("entry"), "entry")):
        entry = _object(entry, f"entry[{e}]")
        for c, change in enumerate(_list(entry.get("changes"), f"entry[{e}].changes")):
            change = _object(change, f"entry[{e}].changes[{c}]")
            value = _object(change.get("value", {}), f"entry[{e}].changes[{c}].value")
            names = {}
            for contact in _list(value.get("contacts"), "contacts"):
                if isinstance(contact, dict) and isinstance(contact.get("wa_id"), str):
                    profile = contact.get("profile")
                    name = profile.get("name", "") if isinstance(profile, dict) else ""
                    names[contact["wa_id"]] = name if isinstance(name, str) else ""
            for m, raw in enumerate(_list(value.get("messages"), "messages")):
                raw = _object(raw, f"messages[{m}]")
                message = _message(raw, names)
                if message is not None:
                    messages.append(message)
    return messages


def _message(raw: dict[str, Any], names: dict[str, str]) -> InboundMessage | None:
    message_id, sender, kind = raw.get("id"), raw.get("from"), raw.get("type")
    if not isinstance(message_id, str) or not message_id.strip():
        raise PayloadError("every message needs an id")
    if not isinstance(sender, str) or not isinstance(kind, str):
        raise PayloadError("every message needs from and type")
    profile_name = names.get(sender, "")
    if kind == "text":
        text_part = raw.get("text")
        body = text_part.get("body", "") if isinstance(text_part, dict) else ""
        if not isinstance(body, str) or not body.strip():
            return None
        return InboundMessage(message_id.strip(), sender, kind, body.strip(), profile_name)
    if kind in MEDIA_TYPES:
        media = raw.get(kind)
        if not isinstance(media, dict) or not isinstance(media.get("id"), str):
            raise PayloadError(f"{kind} message without a media id")
        caption = media.get("caption", "")
        caption = caption if isinstance(caption, str) else ""
        if kind == "document" and not caption and isinstance(media.get("filename"), str):
            caption = media["filename"]
        mime_type = media.get("mime_type", "")
        attachment = {
            "uri": f"whatsapp-media:{media['id']}",
            "media_type": (
                mime_type.split(";")[0].strip().lower() if isinstance(mime_type, str) else ""
            ),
            "sha256": _sha256_hex(media.get("sha256")),
            "caption": caption.strip()[:1000],
        }
        return InboundMessage(
            message_id.strip(), sender, kind, caption.strip(), profile_name, [attachment]
        )
    return None  # reactions, locations, contacts, interactive replies: not complaint content


class WhatsAppInbound:
    """Carries out inbound messages against the intake application."""

    def __init__(self, app: IntakeApplication) -> None:
        self.app = app
        # Messages from one number are decided one at a time (in this process), so that a burst
        # of messages threads onto one new complaint instead of filing several.
        self._locks: weakref.WeakValueDictionary[str, threading.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._locks_guard = threading.Lock()

    def _lock_for(self, key: str) -> threading.Lock:
        with self._locks_guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = threading.Lock()
                self._locks[key] = lock
            return lock

    def handle(self, message: InboundMessage) -> InboundOutcome:
        phone = normalise_phone("+" + message.sender.lstrip("+"))
        if phone is None:
            return InboundOutcome(
                message.message_id, "ignored", detail="sender is not a phone number"
            )
        lock = self._lock_for(self.app.master_key.phone_digest(phone))
        with lock:
            decision = self.app.claims.claim(
                DECISIONS, message.message_id, self._decide(message, phone)
            )
            return self._carry_out(decision, message, phone)

    def _decide(self, message: InboundMessage, phone: str) -> str:
        command = STATUS_COMMAND.match(message.text) if not message.attachments else None
        if command:
            return f"status:{command.group(1).upper()}"
        open_complaint = self.app.open_complaint_for_phone(phone)
        return "file" if open_complaint is None else f"follow:{open_complaint.id}"

    def _context(self, message: InboundMessage) -> CommandContext:
        return CommandContext(
            actor=GATEWAY_ACTOR,
            correlation_id=uuid.uuid4().hex,
            causation_id=f"whatsapp:{message.message_id}",
        )

    def _carry_out(self, decision: str, message: InboundMessage, phone: str) -> InboundOutcome:
        ctx = self._context(message)
        action, _, target = decision.partition(":")
        if action == "status":
            try:
                self.app.request_status(
                    target, channel=Channel.WHATSAPP, idempotency_key=message.message_id, ctx=ctx
                )
            except NotFoundError:
                return InboundOutcome(message.message_id, "ignored", detail="unknown ticket")
            complaint = self.app.get_complaint(target)
            return InboundOutcome(
                message.message_id, "status_requested", str(complaint.id), complaint.ticket_number
            )
        if action == "follow":
            try:
                result = self.app.add_reporter_message(
                    target,
                    idempotency_key=message.message_id,
                    channel=Channel.WHATSAPP,
                    text=message.text,
                    attachments=message.attachments,
                    ctx=ctx,
                )
            except InvalidStateError:
                # Withdrawn between the decision and now: the message must not be lost.
                return self._file(message, phone, ctx)
            complaint = self.app.get_complaint(str(result.complaint_id))
            return InboundOutcome(
                message.message_id,
                "follow_up",
                str(result.complaint_id),
                complaint.ticket_number,
                result.created,
            )
        return self._file(message, phone, ctx)

    def _file(self, message: InboundMessage, phone: str, ctx: CommandContext) -> InboundOutcome:
        try:
            result = self.app.file_complaint(
                FilingRequest(
                    idempotency_key=message.message_id,
                    channel=Channel.WHATSAPP,
                    description=_description(message),
                    category=Category.UNCLASSIFIED,
                    attachments=message.attachments,
                    reporter_name=message.profile_name.strip()[:MAX_NAME],
                    reporter_phone=phone,
                    language="id",
                ),
                ctx,
            )
        except ValidationError as error:
            # Retrying would not help; the gateway gets a 200 with the reason.
            log.warning(
                "inbound WhatsApp message not filed",
                extra={
                    "message_id": message.message_id,
                    "fields": [v.field for v in error.violations],
                },
            )
            return InboundOutcome(message.message_id, "ignored", detail=str(error))
        return InboundOutcome(
            message.message_id,
            "filed",
            str(result.complaint_id),
            result.ticket_number,
            result.created,
        )


def _description(message: InboundMessage) -> str:
    """The complaint text. A hotline message is never dropped for being short: a short text or
    a bare attachment is marked as coming from WhatsApp, which also meets the minimum length."""
    text = message.text.strip()
    if len(text) >= MIN_DESCRIPTION:
        return text[:MAX_DESCRIPTION]
    label = "WhatsApp" if message.kind == "text" else f"WhatsApp: {message.kind}"
    return f"[{label}] {text}".strip()
