"""Adapter: intake's stored events -> the published aduan.v1 payloads.

Every event class of the Complaint aggregate has a builder here, so that every stored event is
published and positions stay dense. None of these payloads carries personal data: the reporter
appears as a pseudonymous reporter id and a masked contact only, and a citizen's free text as its
redacted copy; the words as written (an event's `sealed_text`) are never published.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from aduan.contract.envelopes import EnvelopeTranslator, timestamp
from aduan.v1 import common_pb2, events_pb2
from aduan_intake.domain import Attachment, Complaint, Conversation, attachments_from_fields

SERVICE = "intake"


def channel_value(channel: str) -> str:
    """The enum value's name; protobuf accepts names wherever an enum value goes."""
    return f"CHANNEL_{channel}"


def attachment_messages(attachments: Iterable[Attachment]) -> list[common_pb2.Attachment]:
    return [
        common_pb2.Attachment(
            uri=a.uri, media_type=a.media_type, sha256=a.sha256, caption=a.caption
        )
        for a in attachments
    ]


def _stored_attachments(stored: Iterable[Mapping[str, str]]) -> list[common_pb2.Attachment]:
    """The attachments a stored event (Filed, MessageAdded) carries, as published."""
    return attachment_messages(attachments_from_fields(stored))


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
        attachments=_stored_attachments(event.attachments),
        language=event.language,
        details_pending=getattr(event, "details_pending", False),
        details_due=_timestamp(getattr(event, "details_due", None)),
        redaction_rules=_redaction_rules(event),
    )


def _redaction_rules(event: Any) -> list[str]:
    """The redaction rules that masked something in the event's texts (none recorded in an
    event stored before texts were sealed)."""
    return list(getattr(event, "redacted", None) or [])


def _timestamp(moment: datetime | None) -> Timestamp | None:
    """None stays unset (the field is optional), unlike `timestamp`'s zero."""
    return timestamp(moment) if moment is not None else None


def _located(event: Any) -> events_pb2.ComplaintLocated:
    return events_pb2.ComplaintLocated(
        location=common_pb2.Location(
            province_code=event.province_code, regency_code=event.regency_code
        ),
        source=f"DETAIL_SOURCE_{event.source}",
        rule_id=event.rule_id,
        rules_version=event.rules_version,
        evidence=event.evidence,
        details_pending=event.details_pending,
    )


def _classified(event: Any) -> events_pb2.ComplaintClassified:
    return events_pb2.ComplaintClassified(
        category=f"CATEGORY_{event.category}",
        source=f"DETAIL_SOURCE_{event.source}",
        rule_id=event.rule_id,
        rules_version=event.rules_version,
        evidence=event.evidence,
        details_pending=event.details_pending,
    )


def _details_requested(event: Any) -> events_pb2.DetailsRequested:
    return events_pb2.DetailsRequested(
        question=f"DETAIL_QUESTION_{event.question}",
        province_code=event.province_code,
        candidates=event.candidates,
        page=event.page,
        answer_due=_timestamp(event.answer_due),
    )


def _message_added(event: Any) -> events_pb2.ReporterMessageAdded:
    return events_pb2.ReporterMessageAdded(
        message_id=event.message_id,
        channel=channel_value(event.channel),
        text=event.text,
        attachments=_stored_attachments(event.attachments),
        redaction_rules=_redaction_rules(event),
    )


def _withdrawn(event: Any) -> events_pb2.ComplaintWithdrawn:
    return events_pb2.ComplaintWithdrawn(
        reason=event.reason, redaction_rules=_redaction_rules(event)
    )


def _rated(event: Any) -> events_pb2.ResolutionRated:
    return events_pb2.ResolutionRated(
        rating=event.rating, comment=event.comment, redaction_rules=_redaction_rules(event)
    )


def _status_requested(event: Any) -> events_pb2.StatusRequested:
    return events_pb2.StatusRequested(channel=channel_value(event.channel))


def _contact_revealed(event: Any) -> events_pb2.ContactRevealed:
    # A reveal stored before purposes has neither field: both stay unset (UNSPECIFIED, empty),
    # so its payload is byte for byte what was published before.
    kind = getattr(event, "reveal_purpose", "")
    return events_pb2.ContactRevealed(
        reporter_id=event.reporter_id,
        purpose=event.purpose,
        reveal_purpose=f"REVEAL_PURPOSE_{kind}" if kind else "REVEAL_PURPOSE_UNSPECIFIED",
        revealed_fields=getattr(event, "revealed_fields", None) or [],
    )


def _text_revealed(event: Any) -> events_pb2.TextRevealed:
    return events_pb2.TextRevealed(
        reporter_id=event.reporter_id,
        purpose=event.purpose,
        reveal_purpose=f"REVEAL_PURPOSE_{event.reveal_purpose}",
        revealed_fields=event.revealed_fields,
    )


def _reporter_erased(event: Any) -> events_pb2.ReporterErased:
    return events_pb2.ReporterErased(reporter_id=event.reporter_id, reason=event.reason)


def _conversation_reply(event: Any) -> events_pb2.ConversationReplyRequested:
    """Conversation.Started and Conversation.ReplyRequested alike: both carry a reply."""
    reply = event.reply
    return events_pb2.ConversationReplyRequested(
        reporter_id=event.reporter_id,
        masked_contact=event.masked_contact,
        reply=f"CONVERSATION_REPLY_{reply['kind']}",
        message_id=reply["message_id"],
        ticket_number=reply["ticket_number"],
        message_kind=reply["message_kind"],
        complaint_ids=reply["complaint_ids"],
        language=event.language,
    )


BUILDERS: dict[type, Any] = {
    Complaint.Filed: _complaint_filed,  # type: ignore[attr-defined]
    Complaint.MessageAdded: _message_added,  # type: ignore[attr-defined]
    Complaint.Withdrawn: _withdrawn,  # type: ignore[attr-defined]
    Complaint.ResolutionRated: _rated,  # type: ignore[attr-defined]
    Complaint.StatusRequested: _status_requested,  # type: ignore[attr-defined]
    Complaint.ContactRevealed: _contact_revealed,  # type: ignore[attr-defined]
    Complaint.TextRevealed: _text_revealed,  # type: ignore[attr-defined]
    Complaint.ReporterErased: _reporter_erased,  # type: ignore[attr-defined]
    Complaint.Located: _located,  # type: ignore[attr-defined]
    Complaint.Classified: _classified,  # type: ignore[attr-defined]
    Complaint.DetailsRequested: _details_requested,  # type: ignore[attr-defined]
    Conversation.Started: _conversation_reply,  # type: ignore[attr-defined]
    Conversation.ReplyRequested: _conversation_reply,  # type: ignore[attr-defined]
    Conversation.ContactRevealed: _contact_revealed,  # type: ignore[attr-defined]
    Conversation.ReporterErased: _reporter_erased,  # type: ignore[attr-defined]
}


def translator() -> EnvelopeTranslator:
    return EnvelopeTranslator(SERVICE, BUILDERS)
