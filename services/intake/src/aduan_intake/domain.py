"""The Complaint aggregate. Pure domain: no gRPC, NATS or protobuf."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event

from aduan.core.context import CommandContext
from aduan.core.errors import InvalidStateError
from aduan.reference.categories import Category
from aduan.reference.locations import Location
from aduan_intake.reveals import RevealPurpose, revealed_fields
from aduan_intake.sealing import SealedTexts, TextSealer

COMPLAINT_NAMESPACE = uuid.UUID("5b0f7c1e-4d0a-4f43-9a57-0e8a2a4a0d11")
TICKET_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read over the phone


class Channel(StrEnum):
    WHATSAPP = "WHATSAPP"
    WEB = "WEB"
    EMAIL = "EMAIL"
    PHONE_DESK = "PHONE_DESK"
    WALK_IN = "WALK_IN"
    LAPOR = "LAPOR"
    API = "API"


class DetailSource(StrEnum):
    """How intake learned where or what a complaint is about."""

    TEXT_RULE = "TEXT_RULE"
    LOCATION_PIN = "LOCATION_PIN"
    REPORTER_ANSWER = "REPORTER_ANSWER"


class DetailQuestion(StrEnum):
    PROVINCE = "PROVINCE"
    REGENCY = "REGENCY"
    CATEGORY = "CATEGORY"


@dataclass(frozen=True)
class Finding:
    """A place or a category intake learned, and the provenance it is recorded with."""

    source: DetailSource
    rule_id: str
    rules_version: str = ""
    evidence: str = ""


@dataclass(frozen=True)
class PlaceFinding(Finding):
    province_code: str = ""
    regency_code: str = ""


@dataclass(frozen=True)
class CategoryFinding(Finding):
    category: Category = Category.UNCLASSIFIED


@dataclass(frozen=True)
class DetailRequest:
    """A question for the reporter: the province, a regency (of `province_code`, among
    `candidates` when given), or the category; `page` of its choices."""

    question: DetailQuestion
    province_code: str = ""
    candidates: tuple[str, ...] = ()
    page: int = 1


@dataclass(frozen=True)
class FilingDetails:
    """What intake learned about a new complaint before filing it, the first question, and
    until when routing waits for the answers."""

    due: datetime
    place: PlaceFinding | None = None
    category: CategoryFinding | None = None
    ask: DetailRequest | None = None

    @property
    def anything(self) -> bool:
        return self.place is not None or self.category is not None or self.ask is not None


class ComplaintState(StrEnum):
    """What intake itself decides about a complaint."""

    OPEN = "OPEN"
    WITHDRAWN = "WITHDRAWN"


class CaseStatus(StrEnum):
    """Routing's view of the case, as intake learns it from routing's events."""

    ACTIVE = "ACTIVE"  # not resolved (also: reopened, or nothing heard from routing yet)
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"

    @property
    def resolved(self) -> bool:
        return self in (CaseStatus.RESOLVED, CaseStatus.CLOSED)


def complaint_id_for(channel: Channel, idempotency_key: str) -> uuid.UUID:
    """Deterministic: retries and concurrent duplicates of one filing address one aggregate."""
    return uuid.uuid5(COMPLAINT_NAMESPACE, f"{channel.value}:{idempotency_key}")


def ticket_number_for(complaint_id: uuid.UUID, year: int, attempt: int = 0) -> str:
    """Short and readable, e.g. ADU-2026-7KQ9M2. `attempt` > 0 picks another on a collision."""
    digest = hashlib.sha256(f"{complaint_id}:{attempt}".encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    chars = []
    for _ in range(6):
        number, index = divmod(number, len(TICKET_ALPHABET))
        chars.append(TICKET_ALPHABET[index])
    return f"ADU-{year}-{''.join(chars)}"


@dataclass(frozen=True)
class LandParcel:
    """The land parcel a complaint names: its NIB and the nomor hak of its certificate."""

    nib: str = ""
    certificate_number: str = ""

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> LandParcel:
        """From the fields a stored event carries (see `aduan.reference.locations.Location.from_fields`)."""
        return cls(
            nib=fields.get("nib", ""), certificate_number=fields.get("certificate_number", "")
        )

    def fields(self) -> dict[str, str]:
        return {"nib": self.nib, "certificate_number": self.certificate_number}


@dataclass(frozen=True)
class Attachment:
    """Media a reporter sent with a complaint or a message: a reference to where the media are
    kept (an object store key or a provider's media id), never the bytes themselves."""

    uri: str = ""
    media_type: str = ""
    sha256: str = ""  # lowercase hex of the media's bytes, when known
    caption: str = ""

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> Attachment:
        """From the fields a stored event carries (see `aduan.reference.locations.Location.from_fields`)."""
        return cls(
            uri=fields.get("uri", ""),
            media_type=fields.get("media_type", ""),
            sha256=fields.get("sha256", ""),
            caption=fields.get("caption", ""),
        )

    def fields(self) -> dict[str, str]:
        """The mapping a stored event carries, keys in the order events have always stored."""
        return {
            "uri": self.uri,
            "media_type": self.media_type,
            "sha256": self.sha256,
            "caption": self.caption,
        }


def attachments_from_fields(items: Iterable[Mapping[str, str]]) -> tuple[Attachment, ...]:
    """The attachments of a stored event (Filed, MessageAdded), typed."""
    return tuple(Attachment.from_fields(item) for item in items)


def attachment_fields(attachments: Iterable[Attachment]) -> list[dict[str, str]]:
    """What a stored event carries for `attachments`: a list of plain mappings, as always."""
    return [attachment.fields() for attachment in attachments]


def caption_texts(attachments: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """The captions of an event's attachments as free texts ("caption.<index>"): a reporter
    types into a caption what they type into a message."""
    return {f"caption.{i}": a.get("caption", "") for i, a in enumerate(attachments)}


def _redacted_captions(
    attachments: Iterable[Attachment], sealed: SealedTexts
) -> list[dict[str, str]]:
    return [
        dataclasses.replace(a, caption=sealed.redacted[f"caption.{i}"]).fields()
        for i, a in enumerate(attachments)
    ]


# What each of a citizen's free texts is sealed as: the event (or, for a follow-up, the message id)
# it belongs to, and the field that holds its redacted copy.
FILED_TEXTS = "Filed"
WITHDRAWN_TEXTS = "Withdrawn"
RATED_TEXTS = "ResolutionRated"


@dataclass(frozen=True)
class WrittenText:
    """One free text a complaint's events hold: the copy in the event's field (redacted; the
    words as written in an event stored before texts were sealed) and the words as written,
    sealed ("" when not sealed)."""

    item: str  # FILED_TEXTS, WITHDRAWN_TEXTS, RATED_TEXTS or a message id
    field: str
    stored: str
    sealed: str = ""

    @property
    def revealed_as(self) -> str:
        """How a reveal names it: the field ("subject", "caption.0", ...), or
        "message:<id>" ("message:<id>:caption.0") for a follow-up."""
        if self.item in (FILED_TEXTS, WITHDRAWN_TEXTS, RATED_TEXTS):
            return {"reason": "withdrawal_reason", "comment": "rating_comment"}.get(
                self.field, self.field
            )
        if self.field == "text":
            return f"message:{self.item}"
        return f"message:{self.item}:{self.field}"


def _written(
    item: str, texts: Mapping[str, str], sealed: Mapping[str, str] | None
) -> list[WrittenText]:
    """The non-empty texts of one event, with their sealed copies (none in an old event)."""
    sealed = sealed or {}
    return [
        WrittenText(item, name, text, sealed.get(name, ""))
        for name, text in texts.items()
        if text or sealed.get(name)
    ]


class Complaint(Aggregate):
    """A citizen's complaint as received: what it says, where it is about, who may be told."""

    @staticmethod
    def create_id(channel: Channel, idempotency_key: str) -> uuid.UUID:
        return complaint_id_for(channel, idempotency_key)

    @event("Filed")
    def __init__(
        self,
        channel: Channel,
        idempotency_key: str,
        ticket_number: str,
        reporter_id: str,
        masked_contact: str,
        anonymous: bool,
        confidential: bool,
        language: str,
        category: Category,
        location: dict[str, str],
        parcel: dict[str, str],
        subject: str,
        description: str,
        attachments: list[dict[str, str]],
        meta: dict[str, Any],
        details_pending: bool = False,
        details_due: datetime | None = None,
        sealed_text: dict[str, str] | None = None,
        redacted: list[str] | None = None,
    ) -> None:
        self.channel = channel
        self.idempotency_key = idempotency_key
        self.ticket_number = ticket_number
        self.reporter_id = reporter_id
        self.masked_contact = masked_contact
        self.anonymous = anonymous
        self.confidential = confidential
        self.language = language
        self.category = category
        self.location = Location.from_fields(location)
        self.parcel = LandParcel.from_fields(parcel)
        self.subject = subject
        self.description = description
        self.attachments = attachments_from_fields(attachments)
        self.state = ComplaintState.OPEN
        self.messages: dict[str, str] = {}  # idempotency key -> message id
        self.status_requests: set[str] = set()  # idempotency keys
        self.rating: int | None = None
        self.reporter_erased = False
        self.withdrawal_reason = ""
        # Locating and classifying (docs/intake.md "Where and what"): while details are
        # pending, routing waits for them until details_due.
        self.details_pending = details_pending
        self.details_due = details_due
        self.question: DetailRequest | None = None
        self.answers: set[str] = set()  # idempotency keys of the reporter's answers
        # The reporter's free texts in the order they were written (see `WrittenText`).
        self.written = _written(
            FILED_TEXTS,
            {"subject": subject, "description": description, **caption_texts(attachments)},
            sealed_text,
        )

    @property
    def filed_at(self) -> datetime:
        return self.created_on

    @property
    def withdrawn(self) -> bool:
        return self.state == ComplaintState.WITHDRAWN

    @classmethod
    def file(
        cls,
        *,
        ctx: CommandContext,
        location: Location,
        parcel: LandParcel,
        attachments: Iterable[Attachment],
        subject: str,
        description: str,
        texts: TextSealer,
        **fields: Any,
    ) -> Complaint:
        attachments = tuple(attachments)
        sealed = texts.seal(
            FILED_TEXTS,
            {
                "subject": subject,
                "description": description,
                **caption_texts(attachment_fields(attachments)),
            },
        )
        # The event keeps plain mappings: stored Filed events, old and new, read the same.
        return cls(
            meta=ctx.meta(),
            location=location.fields(),
            parcel=parcel.fields(),
            attachments=_redacted_captions(attachments, sealed),
            subject=sealed.redacted["subject"],
            description=sealed.redacted["description"],
            **fields,
            **_sealed_fields(sealed),
        )

    # -- reporter actions ------------------------------------------------------------------

    def add_message(
        self,
        *,
        idempotency_key: str,
        channel: Channel,
        text: str,
        attachments: Iterable[Attachment],
        ctx: CommandContext,
        texts: TextSealer,
    ) -> str:
        """Adds a follow-up message once per idempotency key; returns its id."""
        if idempotency_key in self.messages:
            return self.messages[idempotency_key]
        if self.withdrawn:
            raise InvalidStateError(f"complaint {self.ticket_number} was withdrawn")
        message_id = str(message_id_for(self.id, idempotency_key))
        attachments = tuple(attachments)
        sealed = texts.seal(
            message_id, {"text": text, **caption_texts(attachment_fields(attachments))}
        )
        self._message_added(
            message_id=message_id,
            idempotency_key=idempotency_key,
            channel=channel,
            text=sealed.redacted["text"],
            # Plain mappings, as MessageAdded events have always stored them.
            attachments=_redacted_captions(attachments, sealed),
            meta=ctx.meta(),
            **_sealed_fields(sealed),
        )
        return message_id

    # Events stored before texts were sealed lack the last two fields (and hold the words as
    # written in `text`): they load with the defaults, "no sealed copy".
    @event("MessageAdded")
    def _message_added(
        self,
        message_id: str,
        idempotency_key: str,
        channel: Channel,
        text: str,
        attachments: list[dict[str, str]],
        meta: dict[str, Any],
        sealed_text: dict[str, str] | None = None,
        redacted: list[str] | None = None,
    ) -> None:
        self.messages[idempotency_key] = message_id
        self.written.extend(
            _written(message_id, {"text": text, **caption_texts(attachments)}, sealed_text)
        )

    def withdraw(
        self, *, reason: str, case_status: CaseStatus, ctx: CommandContext, texts: TextSealer
    ) -> None:
        if self.withdrawn:
            raise InvalidStateError(f"complaint {self.ticket_number} was withdrawn already")
        if case_status.resolved:
            raise InvalidStateError(
                f"complaint {self.ticket_number} is {case_status.value.lower()}: "
                "only a complaint that is not resolved can be withdrawn"
            )
        sealed = texts.seal(WITHDRAWN_TEXTS, {"reason": reason})
        self._withdrawn(reason=sealed.redacted["reason"], meta=ctx.meta(), **_sealed_fields(sealed))

    @event("Withdrawn")
    def _withdrawn(
        self,
        reason: str,
        meta: dict[str, Any],
        sealed_text: dict[str, str] | None = None,
        redacted: list[str] | None = None,
    ) -> None:
        self.state = ComplaintState.WITHDRAWN
        self.withdrawal_reason = reason
        self.written.extend(_written(WITHDRAWN_TEXTS, {"reason": reason}, sealed_text))

    def rate(
        self,
        *,
        rating: int,
        comment: str,
        case_status: CaseStatus,
        ctx: CommandContext,
        texts: TextSealer,
    ) -> None:
        if self.rating is not None:
            raise InvalidStateError(f"complaint {self.ticket_number} was rated already")
        if self.withdrawn or not case_status.resolved:
            raise InvalidStateError(
                f"complaint {self.ticket_number} is not resolved: a rating comes after resolution"
            )
        sealed = texts.seal(RATED_TEXTS, {"comment": comment})
        self._rated(
            rating=rating,
            comment=sealed.redacted["comment"],
            meta=ctx.meta(),
            **_sealed_fields(sealed),
        )

    @event("ResolutionRated")
    def _rated(
        self,
        rating: int,
        comment: str,
        meta: dict[str, Any],
        sealed_text: dict[str, str] | None = None,
        redacted: list[str] | None = None,
    ) -> None:
        self.rating = rating
        self.written.extend(_written(RATED_TEXTS, {"comment": comment}, sealed_text))

    def request_status(
        self, *, channel: Channel, idempotency_key: str, ctx: CommandContext
    ) -> bool:
        """Records a status request once per idempotency key; False for a repeat."""
        if idempotency_key in self.status_requests:
            return False
        self._status_requested(channel=channel, idempotency_key=idempotency_key, meta=ctx.meta())
        return True

    @event("StatusRequested")
    def _status_requested(
        self, channel: Channel, idempotency_key: str, meta: dict[str, Any]
    ) -> None:
        self.status_requests.add(idempotency_key)

    # -- where and what: intake's findings and questions ----------------------------------

    @property
    def located(self) -> bool:
        return bool(self.location.regency_code)

    @property
    def classified(self) -> bool:
        return self.category not in (Category.UNCLASSIFIED, "")

    def learn(
        self,
        *,
        place: PlaceFinding | None,
        category: CategoryFinding | None,
        ask: DetailRequest | None,
        ctx: CommandContext,
        answer_key: str = "",
        answer_due: datetime | None = None,
    ) -> bool:
        """Records what intake learned and the next question (None: nothing more to ask, the
        details are complete). Once per `answer_key` (the reporter's message) when given; False
        for a repeat."""
        if answer_key and answer_key in self.answers:
            return False
        if self.withdrawn:
            raise InvalidStateError(f"complaint {self.ticket_number} was withdrawn")
        meta = ctx.meta()
        if place is not None:
            self._located(
                province_code=place.province_code,
                regency_code=place.regency_code,
                source=place.source,
                rule_id=place.rule_id,
                rules_version=place.rules_version,
                evidence=place.evidence,
                details_pending=ask is not None or category is not None,
                answer_key=answer_key,
                meta=meta,
            )
        if category is not None:
            self._classified(
                category=category.category,
                source=category.source,
                rule_id=category.rule_id,
                rules_version=category.rules_version,
                evidence=category.evidence,
                details_pending=ask is not None,
                answer_key=answer_key,
                meta=meta,
            )
        if ask is not None:
            self._details_requested(
                question=ask.question,
                province_code=ask.province_code,
                candidates=list(ask.candidates),
                page=ask.page,
                answer_due=answer_due,
                answer_key=answer_key,
                meta=meta,
            )
        return True

    @event("Located")
    def _located(
        self,
        province_code: str,
        regency_code: str,
        source: DetailSource,
        rule_id: str,
        rules_version: str,
        evidence: str,
        details_pending: bool,
        answer_key: str,
        meta: dict[str, Any],
    ) -> None:
        self.location = dataclasses.replace(
            self.location, province_code=province_code, regency_code=regency_code
        )
        self.details_pending = details_pending
        if answer_key:
            self.answers.add(answer_key)
        if not details_pending:
            self.question = None

    @event("Classified")
    def _classified(
        self,
        category: Category,
        source: DetailSource,
        rule_id: str,
        rules_version: str,
        evidence: str,
        details_pending: bool,
        answer_key: str,
        meta: dict[str, Any],
    ) -> None:
        self.category = category
        self.details_pending = details_pending
        if answer_key:
            self.answers.add(answer_key)
        if not details_pending:
            self.question = None

    @event("DetailsRequested")
    def _details_requested(
        self,
        question: DetailQuestion,
        province_code: str,
        candidates: list[str],
        page: int,
        answer_due: datetime | None,
        answer_key: str,
        meta: dict[str, Any],
    ) -> None:
        self.question = DetailRequest(
            DetailQuestion(question), province_code, tuple(candidates), page
        )
        self.details_pending = True
        if answer_due is not None:
            self.details_due = answer_due
        if answer_key:
            self.answers.add(answer_key)

    # -- the reporter's identity -----------------------------------------------------------

    def check_contact_revealable(self) -> None:
        if self.anonymous or not self.reporter_id:
            raise InvalidStateError(f"complaint {self.ticket_number} is anonymous: no contact")
        if self.reporter_erased:
            raise InvalidStateError(
                f"the reporter of complaint {self.ticket_number} was erased: no contact"
            )

    def reveal_contact(
        self,
        *,
        purpose: str,
        reveal_purpose: RevealPurpose,
        ctx: CommandContext,
    ) -> None:
        self.check_contact_revealable()
        self._contact_revealed(
            reporter_id=self.reporter_id,
            purpose=purpose,
            meta=ctx.meta(),
            reveal_purpose=reveal_purpose.value,
            revealed_fields=list(revealed_fields(reveal_purpose)),
        )

    # Events stored before purposes lack the last two fields: they load with the defaults, which
    # mean "not recorded" (such a reveal returned the whole identity).
    @event("ContactRevealed")
    def _contact_revealed(
        self,
        reporter_id: str,
        purpose: str,
        meta: dict[str, Any],
        reveal_purpose: str = "",
        revealed_fields: list[str] | None = None,
    ) -> None:
        pass

    # -- the reporter's free text -----------------------------------------------------------

    def check_text_revealable(self) -> None:
        if self.reporter_erased:
            raise InvalidStateError(
                f"the reporter of complaint {self.ticket_number} was erased: no text"
            )

    def reveal_text(
        self,
        *,
        purpose: str,
        reveal_purpose: RevealPurpose,
        fields: Iterable[str],
        ctx: CommandContext,
    ) -> None:
        """Records that the texts `fields` (as `WrittenText.revealed_as` names them) were
        revealed as written."""
        self.check_text_revealable()
        self._text_revealed(
            reporter_id=self.reporter_id,
            purpose=purpose,
            reveal_purpose=reveal_purpose.value,
            revealed_fields=list(fields),
            meta=ctx.meta(),
        )

    @event("TextRevealed")
    def _text_revealed(
        self,
        reporter_id: str,
        purpose: str,
        reveal_purpose: str,
        revealed_fields: list[str],
        meta: dict[str, Any],
    ) -> None:
        pass

    def erase_reporter(self, *, reason: str, ctx: CommandContext) -> bool:
        """Records the erasure once; False when it was recorded already."""
        if self.reporter_erased:
            return False
        self._reporter_erased(reporter_id=self.reporter_id, reason=reason, meta=ctx.meta())
        return True

    @event("ReporterErased")
    def _reporter_erased(self, reporter_id: str, reason: str, meta: dict[str, Any]) -> None:
        self.reporter_erased = True


def _sealed_fields(sealed: SealedTexts) -> dict[str, Any]:
    """The attributes an event stores besides the redacted copies (never published)."""
    return {"sealed_text": sealed.sealed, "redacted": sealed.rule_ids}


class ConversationReply(StrEnum):
    WELCOME = "WELCOME"
    UNSUPPORTED_MESSAGE = "UNSUPPORTED_MESSAGE"
    STATUS_OVERVIEW = "STATUS_OVERVIEW"
    UNKNOWN_TICKET = "UNKNOWN_TICKET"


@dataclass(frozen=True)
class Reply:
    """An answer intake owes a WhatsApp sender about no complaint of theirs."""

    kind: ConversationReply
    message_id: str  # the inbound message answered: once per message
    ticket_number: str = ""
    message_kind: str = ""
    complaint_ids: tuple[str, ...] = ()


class Conversation(Aggregate):
    """A WhatsApp sender as intake answers them outside any complaint (a greeting, a message it
    cannot take, a status question). Their number is sealed under `reporter_id`, like a
    complaint's reporter, so that notification can answer and erasure can forget it."""

    @staticmethod
    def id_for(phone_digest: str) -> uuid.UUID:
        return uuid.uuid5(CONVERSATION_NAMESPACE, phone_digest)

    @staticmethod
    def create_id(conversation_id: uuid.UUID) -> uuid.UUID:
        return conversation_id

    @event("Started")
    def __init__(
        self,
        conversation_id: uuid.UUID,
        reporter_id: str,
        masked_contact: str,
        language: str,
        reply: dict[str, Any],
        meta: dict[str, Any],
    ) -> None:
        self.reporter_id = reporter_id
        self.masked_contact = masked_contact
        self.language = language
        self.reporter_erased = False
        self.answered = {reply["message_id"]}

    @classmethod
    def start(
        cls,
        *,
        conversation_id: uuid.UUID,
        reporter_id: str,
        masked_contact: str,
        reply: Reply,
        ctx: CommandContext,
    ) -> Conversation:
        return cls(
            conversation_id, reporter_id, masked_contact, "id", _reply_fields(reply), ctx.meta()
        )

    def answer(self, reply: Reply, ctx: CommandContext) -> bool:
        """Records the answer owed for one inbound message; False for a repeat."""
        if reply.message_id in self.answered:
            return False
        self._reply_requested(
            reporter_id=self.reporter_id,
            masked_contact=self.masked_contact,
            language=self.language,
            reply=_reply_fields(reply),
            meta=ctx.meta(),
        )
        return True

    @event("ReplyRequested")
    def _reply_requested(
        self,
        reporter_id: str,
        masked_contact: str,
        language: str,
        reply: dict[str, Any],
        meta: dict[str, Any],
    ) -> None:
        self.answered.add(reply["message_id"])

    def check_contact_revealable(self) -> None:
        if self.reporter_erased:
            raise InvalidStateError("the sender was erased: no contact")

    def reveal_contact(
        self,
        *,
        purpose: str,
        reveal_purpose: RevealPurpose,
        ctx: CommandContext,
    ) -> None:
        self.check_contact_revealable()
        self._contact_revealed(
            reporter_id=self.reporter_id,
            purpose=purpose,
            meta=ctx.meta(),
            reveal_purpose=reveal_purpose.value,
            revealed_fields=list(revealed_fields(reveal_purpose)),
        )

    # Events stored before purposes lack the last two fields: they load with the defaults, which
    # mean "not recorded" (such a reveal returned the whole identity).
    @event("ContactRevealed")
    def _contact_revealed(
        self,
        reporter_id: str,
        purpose: str,
        meta: dict[str, Any],
        reveal_purpose: str = "",
        revealed_fields: list[str] | None = None,
    ) -> None:
        pass

    def erase_reporter(self, *, reason: str, ctx: CommandContext) -> bool:
        if self.reporter_erased:
            return False
        self._reporter_erased(reporter_id=self.reporter_id, reason=reason, meta=ctx.meta())
        return True

    @event("ReporterErased")
    def _reporter_erased(self, reporter_id: str, reason: str, meta: dict[str, Any]) -> None:
        self.reporter_erased = True


def _reply_fields(reply: Reply) -> dict[str, Any]:
    return {
        "kind": reply.kind.value,
        "message_id": reply.message_id,
        "ticket_number": reply.ticket_number,
        "message_kind": reply.message_kind,
        "complaint_ids": list(reply.complaint_ids),
    }


CONVERSATION_NAMESPACE = uuid.UUID("7c2e9a4b-1f63-4d8e-a5b0-9e3d6c1f2a47")
MESSAGE_NAMESPACE = uuid.UUID("0e9d8f31-6a2b-4c55-b1f0-3d7a9c2e5b18")
REPORTER_NAMESPACE = uuid.UUID("a41f6c2d-8e37-4b09-9c5a-72d1e0f3b6a4")


def message_id_for(complaint_id: uuid.UUID, idempotency_key: str) -> uuid.UUID:
    return uuid.uuid5(MESSAGE_NAMESPACE, f"{complaint_id}:{idempotency_key}")


def reporter_id_for(complaint_id: uuid.UUID) -> str:
    """One pseudonymous reporter per complaint: concurrent duplicates of a filing agree on it,
    and erasing it touches no other complaint."""
    return str(uuid.uuid5(REPORTER_NAMESPACE, str(complaint_id)))
