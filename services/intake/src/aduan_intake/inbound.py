"""Inbound WhatsApp messages (Cloud API webhook payloads, as the omnichannel gateway forwards
them): parsing, and turning each message into exactly one effect. Transport-free: the HTTP
adapter (webhook.py) verifies the signature and hands over the decoded JSON.

One message, one effect, even when the gateway delivers it many times at once: the decision
(file a new complaint, add a follow-up to complaint X, or record a status request for ticket T)
is claimed under the message id first, and every delivery then carries out the *claimed*
decision with operations that are idempotent on the message id.

One sender, one thread, whatever replica answers: a sender's messages are decided and carried
out one at a time under the sender's lock (senderlock.py: in the process, and on PostgreSQL an
advisory lock shared by every replica), so a burst lands on one complaint.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

import yaml

from aduan.core.context import Actor, ActorKind, CommandContext
from aduan.core.errors import InvalidStateError, NotFoundError, ValidationError
from aduan.reference.categories import Category
from aduan.reference.questions import parse_reply
from aduan_intake.application import IntakeApplication
from aduan_intake.details import DetailFinder, Learned
from aduan_intake.domain import (
    Attachment,
    Channel,
    Complaint,
    ConversationReply,
    FilingDetails,
    Reply,
    reporter_id_for,
)
from aduan_intake.filing import FilingRequest
from aduan_intake.validation import MAX_DESCRIPTION, MAX_NAME, MIN_DESCRIPTION, normalise_phone

log = logging.getLogger(__name__)

DECISIONS = "whatsapp-message"
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
# How an attachment is referenced until its media are kept (media.py).
WHATSAPP_MEDIA = "whatsapp-media:"
STATUS_COMMAND = re.compile(r"^\s*(?:STATUS|CEK)\s+(ADU-\d{4}-[A-Z0-9]{6})\s*$", re.IGNORECASE)
STATUS_ALONE = re.compile(r"^\s*(?:STATUS|CEK)\s*[.!?]*\s*$", re.IGNORECASE)
# "BARU" (new) before a text starts a new complaint even while another one is open.
NEW_COMPLAINT = re.compile(r"^\s*BARU\b[\s:.,-]*", re.IGNORECASE)
# A rating as the resolution message asks for it: "5", "4 bintang", "nilai 3".
RATING = re.compile(r"^\s*(?:nilai\s*)?([1-5])(?:\s*(?:bintang|/\s*5))?\s*[.!]*\s*$", re.IGNORECASE)
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
    attachments: tuple[Attachment, ...] = ()
    # A shared location (type "location"): where the land is.
    latitude: float | None = None
    longitude: float | None = None
    # The id of the chosen row or button (types "interactive" and "button").
    reply_id: str = ""
    # Why a message of this kind carries nothing to file (kept as its outcome).
    ignore_reason: str = ""

    def __repr__(self) -> str:
        return f"InboundMessage(id={self.message_id!r}, kind={self.kind!r}, <redacted>)"


@dataclass(frozen=True)
class InboundOutcome:
    message_id: str
    # filed | follow_up | status_requested | answered | rated | replied | ignored
    action: str
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
    """The messages of a webhook payload (`entry[].changes[].value.messages[]`), every type:
    those with nothing to file carry the reason as `ignore_reason`. Status notifications are
    read by `parse_statuses`."""
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
                messages.append(_message(raw, names))
    return messages


def _message(raw: dict[str, Any], names: dict[str, str]) -> InboundMessage:
    message_id, sender, kind = raw.get("id"), raw.get("from"), raw.get("type")
    if not isinstance(message_id, str) or not message_id.strip():
        raise PayloadError("every message needs an id")
    if not isinstance(sender, str) or not isinstance(kind, str):
        raise PayloadError("every message needs from and type")
    profile_name = names.get(sender, "")
    message_id = message_id.strip()
    if kind == "text":
        text_part = raw.get("text")
        body = text_part.get("body", "") if isinstance(text_part, dict) else ""
        if not isinstance(body, str) or not body.strip():
            return InboundMessage(message_id, sender, kind, ignore_reason="empty text")
        return InboundMessage(message_id, sender, kind, body.strip(), profile_name)
    if kind in MEDIA_TYPES:
        media = raw.get(kind)
        if not isinstance(media, dict) or not isinstance(media.get("id"), str):
            raise PayloadError(f"{kind} message without a media id")
        caption = media.get("caption", "")
        caption = caption if isinstance(caption, str) else ""
        if kind == "document" and not caption and isinstance(media.get("filename"), str):
            caption = media["filename"]
        mime_type = media.get("mime_type", "")
        attachment = Attachment(
            uri=f"{WHATSAPP_MEDIA}{media['id']}",
            media_type=(
                mime_type.split(";")[0].strip().lower() if isinstance(mime_type, str) else ""
            ),
            sha256=_sha256_hex(media.get("sha256")),
            caption=caption.strip()[:1000],
        )
        return InboundMessage(
            message_id, sender, kind, caption.strip(), profile_name, (attachment,)
        )
    if kind == "location":
        return _location(raw, message_id, sender, profile_name)
    if kind in ("interactive", "button"):
        return _reply(raw, message_id, sender, kind, profile_name)
    return InboundMessage(
        message_id, sender, kind, ignore_reason=IGNORED_KINDS.get(kind, UNKNOWN_KIND_REASON)
    )


def _answered_despite_nothing_to_file(message: InboundMessage) -> bool:
    """Kinds with nothing to file that still get an answer: the first-contact event (a welcome)
    and types intake cannot take (what the hotline can receive)."""
    return message.kind == "request_welcome" or message.ignore_reason in (
        IGNORED_KINDS["unsupported"],
        UNKNOWN_KIND_REASON,
    )


@cache
def _greeting_words() -> tuple[frozenset[str], frozenset[str]]:
    """(salutations, forms of address) from data/greetings.yaml."""
    text = resources.files("aduan_intake").joinpath("data", "greetings.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    return frozenset(data["salutations"]), frozenset(data["forms_of_address"])


def is_greeting(text: str) -> bool:
    """A message of nothing but greeting words, with at least one salutation."""
    salutations, address = _greeting_words()
    words = re.findall(r"[a-z]+", text.lower().replace("'", " "))
    return any(w in salutations for w in words) and all(
        w in salutations or w in address for w in words
    )


# Message kinds answered with a short help text: what the hotline can receive.
HELP_KINDS = frozenset({"unsupported", "unknown"})

# Message kinds that carry nothing to file, and why (the outcome every such message gets).
IGNORED_KINDS = {
    "reaction": "a reaction to a message: recorded as seen, nothing to file",
    "contacts": "a shared contact card: a third party's personal data is not kept",
    "system": "a system notice (e.g. the customer changed number): nothing to file",
    "unsupported": "a message type the WhatsApp Cloud API does not support",
    "order": "a catalogue order: the hotline sells nothing",
    "request_welcome": "the first-contact event: the greeting comes with the first message",
    "ephemeral": "a disappearing message: its content is not delivered to businesses",
}
UNKNOWN_KIND_REASON = "a message type intake does not know"


def _coordinate(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _location(
    raw: dict[str, Any], message_id: str, sender: str, profile_name: str
) -> InboundMessage:
    place = raw.get("location")
    if not isinstance(place, dict):
        raise PayloadError("location message without a location")
    latitude, longitude = _coordinate(place.get("latitude")), _coordinate(place.get("longitude"))
    if latitude is None or longitude is None:
        raise PayloadError("location message without numeric latitude and longitude")
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise PayloadError("location out of range")
    # The place's name and address, if the reporter picked one, describe the land.
    words = [place.get(k) for k in ("name", "address")]
    text = ", ".join(w.strip() for w in words if isinstance(w, str) and w.strip())
    return InboundMessage(
        message_id,
        sender,
        "location",
        text,
        profile_name,
        latitude=latitude,
        longitude=longitude,
    )


def _reply(
    raw: dict[str, Any], message_id: str, sender: str, kind: str, profile_name: str
) -> InboundMessage:
    """A chosen list row or reply button (interactive), or a template's quick-reply button."""
    part = raw.get(kind)
    reply_id, title = "", ""
    if isinstance(part, dict):
        if kind == "button":
            reply_id, title = part.get("payload", ""), part.get("text", "")
        else:
            chosen = part.get(part.get("type", "")) if isinstance(part.get("type"), str) else None
            if isinstance(chosen, dict):
                reply_id, title = chosen.get("id", ""), chosen.get("title", "")
    reply_id = reply_id if isinstance(reply_id, str) else ""
    title = title if isinstance(title, str) else ""
    if not reply_id and not title:
        return InboundMessage(message_id, sender, kind, ignore_reason="a reply without a choice")
    return InboundMessage(
        message_id, sender, kind, title.strip(), profile_name, reply_id=reply_id.strip()[:200]
    )


# Keeps one WhatsApp attachment of a reporter (downloads the media while its id is valid) and
# returns the attachment as it is referenced from then on; the webhook adapter provides it.
AttachmentKeeper = Callable[[str, Attachment], Attachment]


class WhatsAppInbound:
    """Carries out inbound messages against the intake application."""

    def __init__(self, app: IntakeApplication, finder: DetailFinder | None = None) -> None:
        self.app = app
        # Without a finder (tests of threading alone), complaints are filed unlocated, as
        # other channels file them, and routing places them by its rules at once.
        self.finder = finder

    def handle(
        self, message: InboundMessage, keep: AttachmentKeeper | None = None
    ) -> InboundOutcome:
        """One message's effect. With `keep`, its media are kept under the reporter of the
        complaint the message lands on before that complaint references them."""
        if message.ignore_reason and not _answered_despite_nothing_to_file(message):
            log.info(
                "inbound WhatsApp message has nothing to file",
                extra={
                    "message_id": message.message_id,
                    "kind": message.kind,
                    "reason": message.ignore_reason,
                },
            )
            return InboundOutcome(message.message_id, "ignored", detail=message.ignore_reason)
        phone = normalise_phone("+" + message.sender.lstrip("+"))
        if phone is None:
            return InboundOutcome(
                message.message_id, "ignored", detail="sender is not a phone number"
            )
        # One sender's messages are decided and carried out one at a time, on whatever
        # replica each arrives (senderlock.py), so that a burst threads onto one complaint.
        with self.app.sender_locks.hold(self.app.master_key.phone_digest(phone)):
            decision = self.app.claims.claim(
                DECISIONS, message.message_id, self._decide(message, phone)
            )
            if keep is not None and message.attachments:
                message = self._with_kept_media(decision, message, keep)
            outcome = self._carry_out(decision, message, phone)
        if outcome.action == "ignored":
            log.info(
                "inbound WhatsApp message ignored",
                extra={"message_id": message.message_id, "reason": outcome.detail},
            )
        return outcome

    def _decide(self, message: InboundMessage, phone: str) -> str:
        """What the message means, as a string claimed under its id: file | follow:<id> |
        status:<ticket> | answer:<reply id> | pin:<id> | rate:<id>:<n> | reply:<kind>[:<arg>]
        (an answer about no complaint: welcome, help, status overview, unknown ticket)."""
        if message.kind == "request_welcome":
            return "reply:WELCOME"
        if message.ignore_reason:
            return f"reply:UNSUPPORTED_MESSAGE:{message.kind[:40]}"
        if message.reply_id and parse_reply(message.reply_id) is not None:
            return f"answer:{message.reply_id}"
        text = message.text if not message.attachments else ""
        if STATUS_COMMAND.match(message.reply_id) or STATUS_ALONE.match(message.reply_id):
            text = message.reply_id  # a template's quick-reply button carrying a command
        command = STATUS_COMMAND.match(text)
        if command:
            return f"status:{command.group(1).upper()}"
        if STATUS_ALONE.match(text):
            return "reply:STATUS_OVERVIEW"
        if is_greeting(text) and not message.attachments and message.latitude is None:
            return "reply:WELCOME"
        if NEW_COMPLAINT.match(text):
            return "file"
        open_complaint = self.app.open_complaint_for_phone(phone)
        if open_complaint is None:
            return "file"
        if message.latitude is not None and not open_complaint.located:
            return f"pin:{open_complaint.id}"
        rating = RATING.match(text)
        if rating and self.app.case_status(open_complaint.id).resolved:
            return f"rate:{open_complaint.id}:{rating.group(1)}"
        return f"follow:{open_complaint.id}"

    def _with_kept_media(
        self, decision: str, message: InboundMessage, keep: AttachmentKeeper
    ) -> InboundMessage:
        """The message with its media kept under the reporter it belongs to: the new
        complaint's reporter, or that of the complaint it follows up (never an erased one)."""
        action, _, target = decision.partition(":")
        if action == "file":
            complaint_id = Complaint.create_id(Channel.WHATSAPP, message.message_id)
            reporter_id = reporter_id_for(complaint_id)
        else:
            try:
                complaint = self.app.get_complaint(target.partition(":")[0])
            except NotFoundError:
                return message
            if complaint.reporter_erased or not complaint.reporter_id:
                return message
            reporter_id = complaint.reporter_id
        kept = tuple(keep(reporter_id, attachment) for attachment in message.attachments)
        return replace(message, attachments=kept)

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
            return self._status(message, phone, target, ctx)
        if action == "reply":
            kind, _, argument = target.partition(":")
            return self._reply(message, phone, ConversationReply(kind), argument, ctx)
        if action == "answer":
            return self._answer(message, phone, target, ctx)
        if action == "pin":
            return self._pin(message, phone, target, ctx)
        if action == "rate":
            complaint_ref, _, rating = target.partition(":")
            return self._rate(message, phone, complaint_ref, int(rating), ctx)
        if action == "follow":
            return self._follow_up(message, phone, target, ctx)
        return self._file(message, phone, ctx)

    def _status(
        self, message: InboundMessage, phone: str, ticket: str, ctx: CommandContext
    ) -> InboundOutcome:
        try:
            self.app.request_status(
                ticket, channel=Channel.WHATSAPP, idempotency_key=message.message_id, ctx=ctx
            )
        except NotFoundError:
            return self._reply(message, phone, ConversationReply.UNKNOWN_TICKET, ticket, ctx)
        complaint = self.app.get_complaint(ticket)
        return InboundOutcome(
            message.message_id, "status_requested", str(complaint.id), complaint.ticket_number
        )

    def _reply(
        self,
        message: InboundMessage,
        phone: str,
        kind: ConversationReply,
        argument: str,
        ctx: CommandContext,
    ) -> InboundOutcome:
        """An answer about no complaint, sent by notification to the sender's number."""
        complaint_ids: tuple[str, ...] = ()
        if kind is ConversationReply.STATUS_OVERVIEW:
            complaint_ids = tuple(str(c.id) for c in self.app.open_complaints_for_phone(phone))
        reply = Reply(
            kind,
            message.message_id,
            ticket_number=argument if kind is ConversationReply.UNKNOWN_TICKET else "",
            message_kind=argument if kind is ConversationReply.UNSUPPORTED_MESSAGE else "",
            complaint_ids=complaint_ids,
        )
        _, created = self.app.reply_to_sender(
            phone, message.profile_name.strip()[:MAX_NAME], reply, ctx
        )
        return InboundOutcome(message.message_id, "replied", created=created, detail=kind.value)

    def _owned(self, complaint_ref: str, phone: str) -> Complaint | None:
        """The complaint, when it exists and the sender filed it (nobody answers for another)."""
        try:
            complaint = self.app.get_complaint(complaint_ref)
        except NotFoundError:
            return None
        return complaint if self.app.reporter_owns(complaint, phone) else None

    def _learn(
        self, message: InboundMessage, complaint: Complaint, learned: Learned, ctx: CommandContext
    ) -> InboundOutcome:
        assert self.finder is not None
        try:
            complaint_id, position = self.app.learn_details(
                str(complaint.id),
                place=learned.place,
                category=learned.category,
                ask=learned.ask,
                answer_key=message.message_id,
                # Routing waits until the filing's details_due, not longer: later questions
                # carry that same deadline (a complaint filed elsewhere has none: from now).
                answer_due=complaint.details_due or self.finder.due(datetime.now(UTC)),
                ctx=ctx,
            )
        except InvalidStateError as error:
            return InboundOutcome(message.message_id, "ignored", detail=str(error))
        return InboundOutcome(
            message.message_id,
            "answered",
            str(complaint_id),
            complaint.ticket_number,
            position is not None,
        )

    def _answer(
        self, message: InboundMessage, phone: str, reply_id: str, ctx: CommandContext
    ) -> InboundOutcome:
        answer = parse_reply(reply_id)
        assert answer is not None  # decided on a parsable id
        complaint = self._owned(answer.ticket_number, phone)
        if complaint is None or self.finder is None:
            return InboundOutcome(
                message.message_id, "ignored", detail="an answer for no complaint of this number"
            )
        return self._learn(message, complaint, self.finder.answer(complaint, answer), ctx)

    def _pin(
        self, message: InboundMessage, phone: str, complaint_ref: str, ctx: CommandContext
    ) -> InboundOutcome:
        complaint = self._owned(complaint_ref, phone)
        learned = None
        if complaint is not None and self.finder is not None:
            latitude, longitude = message.latitude or 0.0, message.longitude or 0.0
            learned = self.finder.pin_for(complaint, latitude, longitude)
        if complaint is None or learned is None:
            # Not inside any regency (or located meanwhile): it stays a follow-up of the case.
            return self._follow_up(message, phone, complaint_ref, ctx)
        return self._learn(message, complaint, learned, ctx)

    def _rate(
        self,
        message: InboundMessage,
        phone: str,
        complaint_ref: str,
        rating: int,
        ctx: CommandContext,
    ) -> InboundOutcome:
        """A bare 1-5 after resolution is the rating the resolution message asked for: it does
        not reopen the case."""
        complaint = self.app.get_complaint(complaint_ref)
        if complaint.rating is not None:
            # Rated before (perhaps by this very message): the same answer for a repeat.
            return InboundOutcome(
                message.message_id, "rated", str(complaint.id), complaint.ticket_number
            )
        try:
            self.app.rate_resolution(complaint_ref, rating, "", ctx)
        except InvalidStateError:
            # Reopened or closed meanwhile: the message is a follow-up after all.
            return self._follow_up(message, phone, complaint_ref, ctx)
        return InboundOutcome(
            message.message_id, "rated", str(complaint.id), complaint.ticket_number, True
        )

    def _follow_up(
        self, message: InboundMessage, phone: str, complaint_ref: str, ctx: CommandContext
    ) -> InboundOutcome:
        try:
            result = self.app.add_reporter_message(
                complaint_ref,
                idempotency_key=message.message_id,
                channel=Channel.WHATSAPP,
                text=_follow_up_text(message),
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

    def _details(self, message: InboundMessage) -> FilingDetails | None:
        if self.finder is None:
            return None
        now = datetime.now(UTC)
        if message.latitude is not None and message.longitude is not None:
            return self.finder.from_pin(message.latitude, message.longitude, now)
        return self.finder.from_text(_content(message.text), now)

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
                    details=self._details(message),
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


def _content(text: str) -> str:
    """The complaint's words without a leading BARU ("new")."""
    match = NEW_COMPLAINT.match(text)
    return text[match.end() :].strip() if match else text


def _follow_up_text(message: InboundMessage) -> str:
    if message.latitude is not None and message.longitude is not None:
        where = f"{message.latitude:.5f}, {message.longitude:.5f}"
        return f"[Lokasi dibagikan: {where}] {message.text}".strip()
    if message.reply_id:
        return f"[Pilihan: {message.text or message.reply_id}]"
    return message.text


def _description(message: InboundMessage) -> str:
    """The complaint text. A hotline message is never dropped for being short: a short text or
    a bare attachment is marked as coming from WhatsApp, which also meets the minimum length."""
    text = _content(message.text.strip())
    if message.latitude is not None and message.longitude is not None:
        text = f"[Lokasi dibagikan: {message.latitude:.5f}, {message.longitude:.5f}] {text}"
    if len(text) >= MIN_DESCRIPTION:
        return text[:MAX_DESCRIPTION]
    label = "WhatsApp" if message.kind == "text" else f"WhatsApp: {message.kind}"
    return f"[{label}] {text}".strip()
