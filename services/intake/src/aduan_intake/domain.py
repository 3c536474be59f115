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
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"
    WITHDRAWN = "WITHDRAWN"
    CLOSED = "CLOSED"


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

    @property
    def filed_at(self) -> datetime:
        return self.created_on

    @classmethod
    def file(cls, *, ctx: CommandContext, **fields: Any) -> Complaint:
        return cls(meta=ctx.meta(), **fields)
