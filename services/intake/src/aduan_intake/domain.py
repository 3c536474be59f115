"""The Complaint aggregate. Pure domain: no gRPC, NATS or protobuf."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event

from aduan.context import CommandContext
from aduan.errors import InvalidStateError

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


class Category(StrEnum):
    UNCLASSIFIED = "UNCLASSIFIED"
    LAND_DISPUTE = "LAND_DISPUTE"
    LAND_SERVICE = "LAND_SERVICE"
    ILLEGAL_LEVY = "ILLEGAL_LEVY"
    ABUSE_OF_AUTHORITY = "ABUSE_OF_AUTHORITY"
    SPATIAL_PLANNING = "SPATIAL_PLANNING"
    LAND_ACQUISITION = "LAND_ACQUISITION"
    INFORMATION_REQUEST = "INFORMATION_REQUEST"
    OTHER = "OTHER"


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
class Location:
    province_code: str = ""
    regency_code: str = ""
    address: str = ""


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
        self.location = location
        self.parcel = parcel
        self.subject = subject
        self.description = description
        self.attachments = attachments
        self.state = ComplaintState.OPEN
        self.messages: dict[str, str] = {}  # idempotency key -> message id
        self.status_requests: set[str] = set()  # idempotency keys
        self.rating: int | None = None
        self.reporter_erased = False
        self.withdrawal_reason = ""

    @property
    def filed_at(self) -> datetime:
        return self.created_on

    @property
    def withdrawn(self) -> bool:
        return self.state == ComplaintState.WITHDRAWN

    @classmethod
    def file(cls, *, ctx: CommandContext, **fields: Any) -> Complaint:
        return cls(meta=ctx.meta(), **fields)

    # -- reporter actions ------------------------------------------------------------------

    def add_message(
        self,
        *,
        idempotency_key: str,
        channel: Channel,
        text: str,
        attachments: list[dict[str, str]],
        ctx: CommandContext,
    ) -> str:
        """Adds a follow-up message once per idempotency key; returns its id."""
        if idempotency_key in self.messages:
            return self.messages[idempotency_key]
        if self.withdrawn:
            raise InvalidStateError(f"complaint {self.ticket_number} was withdrawn")
        message_id = str(message_id_for(self.id, idempotency_key))
        self._message_added(
            message_id=message_id,
            idempotency_key=idempotency_key,
            channel=channel,
            text=text,
            attachments=attachments,
            meta=ctx.meta(),
        )
        return message_id

    @event("MessageAdded")
    def _message_added(
        self,
        message_id: str,
        idempotency_key: str,
        channel: Channel,
        text: str,
        attachments: list[dict[str, str]],
        meta: dict[str, Any],
    ) -> None:
        self.messages[idempotency_key] = message_id

    def withdraw(self, *, reason: str, case_status: CaseStatus, ctx: CommandContext) -> None:
        if self.withdrawn:
            raise InvalidStateError(f"complaint {self.ticket_number} was withdrawn already")
        if case_status.resolved:
            raise InvalidStateError(
                f"complaint {self.ticket_number} is {case_status.value.lower()}: "
                "only a complaint that is not resolved can be withdrawn"
            )
        self._withdrawn(reason=reason, meta=ctx.meta())

    @event("Withdrawn")
    def _withdrawn(self, reason: str, meta: dict[str, Any]) -> None:
        self.state = ComplaintState.WITHDRAWN
        self.withdrawal_reason = reason

    def rate(
        self, *, rating: int, comment: str, case_status: CaseStatus, ctx: CommandContext
    ) -> None:
        if self.rating is not None:
            raise InvalidStateError(f"complaint {self.ticket_number} was rated already")
        if self.withdrawn or not case_status.resolved:
            raise InvalidStateError(
                f"complaint {self.ticket_number} is not resolved: a rating comes after resolution"
            )
        self._rated(rating=rating, comment=comment, meta=ctx.meta())

    @event("ResolutionRated")
    def _rated(self, rating: int, comment: str, meta: dict[str, Any]) -> None:
        self.rating = rating

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

    # -- the reporter's identity -----------------------------------------------------------

    def check_contact_revealable(self) -> None:
        if self.anonymous or not self.reporter_id:
            raise InvalidStateError(f"complaint {self.ticket_number} is anonymous: no contact")
        if self.reporter_erased:
            raise InvalidStateError(
                f"the reporter of complaint {self.ticket_number} was erased: no contact"
            )

    def reveal_contact(self, *, purpose: str, ctx: CommandContext) -> None:
        self.check_contact_revealable()
        self._contact_revealed(reporter_id=self.reporter_id, purpose=purpose, meta=ctx.meta())

    @event("ContactRevealed")
    def _contact_revealed(self, reporter_id: str, purpose: str, meta: dict[str, Any]) -> None:
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


MESSAGE_NAMESPACE = uuid.UUID("0e9d8f31-6a2b-4c55-b1f0-3d7a9c2e5b18")
REPORTER_NAMESPACE = uuid.UUID("a41f6c2d-8e37-4b09-9c5a-72d1e0f3b6a4")


def message_id_for(complaint_id: uuid.UUID, idempotency_key: str) -> uuid.UUID:
    return uuid.uuid5(MESSAGE_NAMESPACE, f"{complaint_id}:{idempotency_key}")


def reporter_id_for(complaint_id: uuid.UUID) -> str:
    """One pseudonymous reporter per complaint: concurrent duplicates of a filing agree on it,
    and erasing it touches no other complaint."""
    return str(uuid.uuid5(REPORTER_NAMESPACE, str(complaint_id)))
