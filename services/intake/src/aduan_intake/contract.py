"""Adapter: intake's stored events -> the published aduan.v1 payloads."""

from __future__ import annotations

from typing import Any

from aduan.envelopes import EnvelopeTranslator
from aduan.v1 import common_pb2, events_pb2
from aduan_intake.domain import Complaint

SERVICE = "intake"


def _complaint_filed(event: Any) -> events_pb2.ComplaintFiled:
    return events_pb2.ComplaintFiled(
        ticket_number=event.ticket_number,
        channel=common_pb2.Channel.Value(f"CHANNEL_{event.channel}"),
        reporter_id=event.reporter_id,
        masked_contact=event.masked_contact,
        anonymous=event.anonymous,
        confidential=event.confidential,
        category=common_pb2.Category.Value(f"CATEGORY_{event.category}"),
        location=common_pb2.Location(**event.location),
        parcel=common_pb2.LandParcel(**event.parcel),
        subject=event.subject,
        description=event.description,
        attachments=[common_pb2.Attachment(**a) for a in event.attachments],
        language=event.language,
    )


def translator() -> EnvelopeTranslator:
    return EnvelopeTranslator(SERVICE, {Complaint.Filed: _complaint_filed})
