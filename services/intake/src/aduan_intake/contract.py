"""Adapter: intake's stored events -> the published aduan.v1 payloads.

Every event class of the Complaint aggregate has a builder here, so that every stored event is
published and positions stay dense. None of these payloads carries personal data: the reporter
appears as a pseudonymous reporter id and a masked contact only.
"""

from __future__ import annotations

from typing import Any

from aduan.envelopes import EnvelopeTranslator
from aduan.v1 import common_pb2, events_pb2
from aduan_intake.domain import Complaint

SERVICE = "intake"


def channel_value(channel: str) -> str:
    """The enum value's name; protobuf accepts names wherever an enum value goes."""
    return f"CHANNEL_{channel}"


def attachment_messages(attachments: list[dict[str, str]]) -> list[common_pb2.Attachment]:
    return [common_pb2.Attachment(**a) for a in attachments]


def _complaint_filed(event: Any) -> events_pb2.ComplaintFiled:
    return events_pb2.ComplaintFiled(
        ticket_number=event.ticket_number,
        channel=channel_value(event.channel),
        reporter_id=event.reporter_id,
        masked_contact=event.masked_contact,
        anonymous=event.anonymous,
        confidential=event.confidential,
        category=f"CATEGORY_{event.category}",
        location=common_pb2.Location(**event.location),
        parcel=common_pb2.LandParcel(**event.parcel),
        subject=event.subject,
        description=event.description,
        attachments=attachment_messages(event.attachments),
        language=event.language,
    )


def _message_added(event: Any) -> events_pb2.ReporterMessageAdded:
    return events_pb2.ReporterMessageAdded(
        message_id=event.message_id,
        channel=channel_value(event.channel),
        text=event.text,
        attachments=attachment_messages(event.attachments),
    )


def _withdrawn(event: Any) -> events_pb2.ComplaintWithdrawn:
    return events_pb2.ComplaintWithdrawn(reason=event.reason)


def _rated(event: Any) -> events_pb2.ResolutionRated:
    return events_pb2.ResolutionRated(rating=event.rating, comment=event.comment)


def _status_requested(event: Any) -> events_pb2.StatusRequested:
    return events_pb2.StatusRequested(channel=channel_value(event.channel))


def _contact_revealed(event: Any) -> events_pb2.ContactRevealed:
    return events_pb2.ContactRevealed(reporter_id=event.reporter_id, purpose=event.purpose)


def _reporter_erased(event: Any) -> events_pb2.ReporterErased:
    return events_pb2.ReporterErased(reporter_id=event.reporter_id, reason=event.reason)


BUILDERS: dict[type, Any] = {
    Complaint.Filed: _complaint_filed,  # type: ignore[attr-defined]
    Complaint.MessageAdded: _message_added,  # type: ignore[attr-defined]
    Complaint.Withdrawn: _withdrawn,  # type: ignore[attr-defined]
    Complaint.ResolutionRated: _rated,  # type: ignore[attr-defined]
    Complaint.StatusRequested: _status_requested,  # type: ignore[attr-defined]
    Complaint.ContactRevealed: _contact_revealed,  # type: ignore[attr-defined]
    Complaint.ReporterErased: _reporter_erased,  # type: ignore[attr-defined]
}


def translator() -> EnvelopeTranslator:
    return EnvelopeTranslator(SERVICE, BUILDERS)
